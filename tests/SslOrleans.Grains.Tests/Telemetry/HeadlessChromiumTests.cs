namespace SslOrleans.Grains.Tests.Telemetry;

/// <summary>The browser harness itself: a page with a console error, an uncaught exception and a resource that fails
/// to load is caught on each count, so the run page's "no console error" means something.</summary>
[Trait("Category", "Operations")]
public sealed class HeadlessChromiumTests
{
    [Fact]
    public async Task Console_errors_uncaught_exceptions_and_failed_loads_are_reported()
    {
        await using var browser = await HeadlessChromium.StartAsync();
        var html = "<p id=done>page</p><img src='http://127.0.0.1:9/missing.png'><script>console.error('boom'); setTimeout(() => noSuchFunction(), 0);</script>";
        await browser.NavigateAsync(new Uri("data:text/html," + Uri.EscapeDataString(html)));
        await browser.WaitUntilAsync("document.getElementById('done') !== null", TimeSpan.FromSeconds(30));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (browser.Problems.Count < 3 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Contains(browser.Problems, p => p.StartsWith("console.error: boom", StringComparison.Ordinal));
        Assert.Contains(browser.Problems, p => p.StartsWith("uncaught: ReferenceError: noSuchFunction", StringComparison.Ordinal));
        Assert.Contains(browser.Problems, p => p.Contains("missing.png", StringComparison.Ordinal));
    }
}
