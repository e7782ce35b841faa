using System.Globalization;

namespace SslOrleans.Core.Data.Images;

/// <summary>Sizes as people write them: "1000", "512MB", "1GB" (powers of 1000) or "64KiB", "1GiB" (powers of 1024).</summary>
public static class ByteSize
{
    private static readonly (string Unit, long Factor)[] Units =
    [
        ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("TiB", 1L << 40),
        ("KB", 1000L), ("MB", 1000_000L), ("GB", 1000_000_000L), ("TB", 1000_000_000_000L),
        ("K", 1000L), ("M", 1000_000L), ("G", 1000_000_000L), ("T", 1000_000_000_000L),
        ("B", 1L),
    ];

    /// <summary>Parses <paramref name="text"/> into bytes; a number may have a fraction ("1.5GB"), rounded down.</summary>
    /// <exception cref="FormatException">The text is no size, or a negative or too large one.</exception>
    public static long Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        long factor = 1;
        foreach (var (unit, unitFactor) in Units)
        {
            if (trimmed.EndsWith(unit, StringComparison.OrdinalIgnoreCase))
            {
                trimmed = trimmed[..^unit.Length].TrimEnd();
                factor = unitFactor;
                break;
            }
        }

        if (!decimal.TryParse(trimmed, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            throw new FormatException(
                $"\"{text}\" is not a byte size: write a whole number of bytes or a number and a unit " +
                "(KB, MB, GB, TB = powers of 1000; KiB, MiB, GiB, TiB = powers of 1024), e.g. 512MB");
        }

        try
        {
            return (long)decimal.Floor(number * factor);
        }
        catch (OverflowException e)
        {
            throw new FormatException($"\"{text}\" is too large a byte size", e);
        }
    }
}
