using SslOrleans.Cli;

namespace SslOrleans.Grains.Tests.Cli;

/// <summary>Runs the sslo command line in this process and captures what it prints.</summary>
internal static class SsloInProcess
{
    public static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await Sslo.MainAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
