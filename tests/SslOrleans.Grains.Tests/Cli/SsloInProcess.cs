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

    /// <summary>Bad input: exit code 2, nothing on stdout, one "sslo: " line on stderr that contains <paramref name="message"/>.</summary>
    public static async Task AssertBadInputAsync(string[] args, string message)
    {
        var (code, stdout, stderr) = await RunAsync(args);
        Assert.True(code == 2, $"exit {code}: {stderr}");
        Assert.Equal("", stdout);
        Assert.StartsWith("sslo: ", stderr);
        Assert.Contains(message, stderr);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }
}
