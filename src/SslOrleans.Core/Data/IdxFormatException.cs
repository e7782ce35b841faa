namespace SslOrleans.Core.Data;

/// <summary>
/// An idx file is malformed (wrong magic, unsupported element type, truncated, corrupt gzip, ...).
/// The message always names the file so the user knows which download to replace.
/// (<see cref="InvalidDataException"/> would be the natural base, but it is sealed.)
/// </summary>
public sealed class IdxFormatException : Exception
{
    public IdxFormatException(string message)
        : base(message)
    {
    }

    public IdxFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
