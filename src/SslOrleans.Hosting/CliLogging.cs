using Microsoft.Extensions.Logging;

namespace SslOrleans.Hosting;

public static class CliLogging
{
    /// <summary>
    /// Logging for hosts inside the CLI: single-line console logs on stderr (stdout carries only the CLI's result),
    /// Orleans' own start-up notes (ServerGC, watchdog on a busy machine) only when they are errors.
    /// </summary>
    public static ILoggingBuilder ToStandardError(this ILoggingBuilder logging, LogLevel level = LogLevel.Warning)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(o => o.SingleLine = true);
        logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        logging.SetMinimumLevel(level);
        logging.AddFilter("Orleans", LogLevel.Error);
        return logging;
    }
}
