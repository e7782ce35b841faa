namespace SslOrleans.Core.Data;

/// <summary>
/// A dataset file is missing. Derives from <see cref="FileNotFoundException"/> (with
/// <see cref="FileNotFoundException.FileName"/> set to the missing path) so generic handlers still work;
/// the message also says how to install the dataset, since that is the usual fix.
/// </summary>
public sealed class DatasetNotFoundException : FileNotFoundException
{
    public DatasetNotFoundException(string message, string fileName)
        : base(message, fileName)
    {
    }
}
