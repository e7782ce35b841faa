using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SslOrleans.Grains.Tests.Telemetry;

/// <summary>
/// Debian's chromium, headless, driven over the DevTools protocol (one page): navigate, evaluate JavaScript, take a
/// screenshot, and collect every console error, uncaught exception and failed resource the page reports.
/// build/deps.sh --test installs it.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process process;
    private readonly string profile;
    private readonly ClientWebSocket socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> pending = new();
    private readonly ConcurrentQueue<string> problems = new();
    private readonly CancellationTokenSource stop = new();
    private Task? receiving;
    private int nextId;

    private HeadlessChromium(Process process, string profile)
    {
        this.process = process;
        this.profile = profile;
    }

    /// <summary>Console errors (console.error, console.assert), uncaught exceptions and the browser's own error log
    /// entries (a resource that failed to load), in the order the page reported them.</summary>
    public IReadOnlyCollection<string> Problems => problems;

    public static async Task<HeadlessChromium> StartAsync(int width = 1280, int height = 1100)
    {
        var executable = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("chromium is missing: build/deps.sh --test installs Debian's chromium");
        var profile = Directory.CreateTempSubdirectory("sslo-chromium-").FullName;
        var psi = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        // --no-sandbox: the tests run as root; port 0: chromium picks one and writes it to DevToolsActivePort.
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars", $"--window-size={width},{height}",
                     $"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank" })
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {executable}");
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var browser = new HeadlessChromium(process, profile);
        try
        {
            var portFile = Path.Combine(profile, "DevToolsActivePort");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            string? port = null;
            while (port is null)
            {
                if (process.HasExited) throw new InvalidOperationException($"chromium exited with {process.ExitCode}: {output}");
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"chromium wrote no DevToolsActivePort within 60 s: {output}");
                if (File.Exists(portFile) && File.ReadAllLines(portFile) is [var first, ..] && first.Length > 0) port = first;
                else await Task.Delay(100);
            }
            using var http = new HttpClient();
            var targets = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list")).RootElement;
            var page = targets.EnumerateArray().First(t => t.GetProperty("type").GetString() == "page");
            await browser.socket.ConnectAsync(new Uri(page.GetProperty("webSocketDebuggerUrl").GetString()!), CancellationToken.None);
            browser.receiving = browser.ReceiveAsync();
            await browser.SendAsync("Runtime.enable");
            await browser.SendAsync("Log.enable");
            await browser.SendAsync("Page.enable");
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    public Task NavigateAsync(Uri url) => SendAsync("Page.navigate", new JsonObject { ["url"] = url.ToString() });

    /// <summary>The value of a JavaScript expression (JSON-serialisable), or the exception it threw as an error.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result.TryGetProperty("exceptionDetails", out var thrown))
            throw new InvalidOperationException($"{expression} threw: {thrown}");
        return result.GetProperty("result").TryGetProperty("value", out var value) ? value.Clone() : default;
    }

    /// <summary>Evaluates <paramref name="expression"/> every 250 ms until it is true (after <paramref name="timeout"/>: an error
    /// naming what the page showed, from <paramref name="describe"/>).</summary>
    public async Task WaitUntilAsync(string expression, TimeSpan timeout, string describe = "document.body.innerText")
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await EvaluateAsync(expression) is { ValueKind: JsonValueKind.True }) return;
            }
            catch (InvalidOperationException) when (DateTime.UtcNow < deadline)
            {
                // The page is still loading (no document yet).
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the page never made `{expression}` true within {timeout}; it showed: {await EvaluateAsync(describe)}; problems: {string.Join(" | ", problems)}");
            await Task.Delay(250);
        }
    }

    public async Task<byte[]> ScreenshotAsync()
    {
        var shot = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = false });
        return Convert.FromBase64String(shot.GetProperty("data").GetString()!);
    }

    private async Task<JsonElement> SendAsync(string method, JsonObject? parameters = null)
    {
        int id = Interlocked.Increment(ref nextId);
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        pending[id] = answer;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        return await answer.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (!stop.IsCancellationRequested && socket.State == WebSocketState.Open)
            {
                var part = await socket.ReceiveAsync(buffer, stop.Token);
                if (part.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, part.Count);
                if (!part.EndOfMessage) continue;
                using (var json = JsonDocument.Parse(message.ToArray())) Dispatch(json.RootElement);
                message.SetLength(0);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // Disposed, or the browser went away: pending calls fail below.
        }
        foreach (var (_, waiting) in pending) waiting.TrySetException(new InvalidOperationException("the DevTools connection closed"));
    }

    private void Dispatch(JsonElement m)
    {
        if (m.TryGetProperty("id", out var id))
        {
            if (!pending.TryRemove(id.GetInt32(), out var waiting)) return;
            if (m.TryGetProperty("error", out var error)) waiting.TrySetException(new InvalidOperationException($"DevTools: {error}"));
            else waiting.TrySetResult(m.GetProperty("result").Clone());
            return;
        }
        var method = m.GetProperty("method").GetString();
        var p = m.GetProperty("params");
        switch (method)
        {
            case "Runtime.consoleAPICalled" when p.GetProperty("type").GetString() is "error" or "assert":
                problems.Enqueue($"console.{p.GetProperty("type").GetString()}: {string.Join(" ", p.GetProperty("args").EnumerateArray().Select(a => a.TryGetProperty("value", out var v) ? v.ToString() : a.GetProperty("type").GetString()))}");
                break;
            case "Runtime.exceptionThrown":
                var details = p.GetProperty("exceptionDetails");
                problems.Enqueue($"uncaught: {(details.TryGetProperty("exception", out var ex) && ex.TryGetProperty("description", out var d) ? d.GetString() : details.GetProperty("text").GetString())}");
                break;
            case "Log.entryAdded" when p.GetProperty("entry").GetProperty("level").GetString() == "error":
                var entry = p.GetProperty("entry");
                problems.Enqueue($"{entry.GetProperty("source").GetString()}: {entry.GetProperty("text").GetString()} {(entry.TryGetProperty("url", out var url) ? url.GetString() : "")}");
                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        stop.Cancel();
        try { socket.Abort(); } catch (ObjectDisposedException) { }
        if (receiving is not null) await receiving;
        socket.Dispose();
        try { if (!process.HasExited) process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        await process.WaitForExitAsync();
        process.Dispose();
        try { Directory.Delete(profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
