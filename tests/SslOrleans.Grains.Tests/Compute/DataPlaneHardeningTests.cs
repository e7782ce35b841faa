using System.Net.Security;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.TestingHost;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Security;
using SslOrleans.Abstractions.Shards;
using SslOrleans.Abstractions.Workers;
using SslOrleans.Grains.Runs;
using SslOrleans.Grains.Tests.Shared;
using SslOrleans.Hosting;
using Plane = SslOrleans.Grains.Compute.TensorDataPlane;
using PlaneOptions = SslOrleans.Grains.Compute.TensorDataPlaneOptions;
using Refusal = SslOrleans.Grains.Compute.Refusal;

namespace SslOrleans.Grains.Tests.Compute;

/// <summary>One real silo whose data plane has small limits, set through SslTraining options as a host sets them.</summary>
public sealed class HardenedPlaneFixture : IAsyncLifetime
{
    public const int MaxFrameBytes = 64 << 10, MaxBufferedBytes = 128 << 10, MaxConnections = 4;
    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(1), IdleTimeout = TimeSpan.FromSeconds(3);

    public TestCluster Cluster { get; private set; } = null!;
    public IServiceProvider Silo => ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services;
    public Plane Plane => Silo.GetRequiredService<Plane>();

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(1);
        builder.Options.ClusterId = "plane-" + Guid.NewGuid().ToString("N")[..8];
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) => silo.AddSslTraining(o =>
        {
            o.Devices = "cpu";
            (o.DataPlaneMaxFrameBytes, o.DataPlaneMaxBufferedBytes, o.DataPlaneMaxConnections) = (MaxFrameBytes, MaxBufferedBytes, MaxConnections);
            (o.DataPlaneReadTimeout, o.DataPlaneIdleTimeout) = (ReadTimeout, IdleTimeout);
        });
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(Microsoft.Extensions.Configuration.IConfiguration configuration, IClientBuilder client) => client.AddSslTrainingClient();
    }
}

/// <summary>
/// The data plane's listener against peers that do not play by the rules: garbage, huge declared sizes, key bombs, slow
/// frames, too many connections, and (with TLS) peers without the cluster's certificate. Each is closed within its
/// timeout, counted by reason, never makes the plane hold more than its buffer cap, and leaves the plane serving.
/// </summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class DataPlaneHardeningTests(HardenedPlaneFixture fixture) : IClassFixture<HardenedPlaneFixture>
{
    private const int Values = 1000;
    /// <summary>A refused or timed-out connection must be closed by then: its timeout and room for a loaded machine.</summary>
    private static readonly TimeSpan Closing = HardenedPlaneFixture.ReadTimeout + TimeSpan.FromSeconds(8);

    private IGrainFactory Grains => fixture.Cluster.Client;
    private Plane Plane => fixture.Plane;

    [Fact]
    public async Task Garbage_bytes_are_refused_and_the_connection_closed()
    {
        var before = await QuietAsync();
        await using var peer = await RawPeer.ConnectAsync(Plane.Endpoint!);
        var garbage = new byte[300];
        new Random(7).NextBytes(garbage);
        garbage[0] = 0xAB; // no frame kind
        await peer.SendAsync(garbage);
        var answer = await peer.ClosedWithinAsync(Closing);
        Assert.NotNull(answer);
        Assert.Equal(before.Of(Refusal.Garbage) + 1, Plane.RefusedFor(Refusal.Garbage));
        await AssertPlaneServesAsync();
    }

    [Fact]
    public async Task A_gibibyte_declared_with_no_payload_is_refused_before_it_is_allocated()
    {
        var before = await QuietAsync();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        await using (var push = await RawPeer.ConnectAsync(Plane.Endpoint!))
        {
            await push.SendAsync(DataPlaneWire.Frame(DataPlaneWire.Push, "any-run/0", length: 1 << 30));
            var answer = await push.ClosedWithinAsync(Closing);
            Assert.NotNull(answer);
            Assert.Contains("refused (too-large)", Encoding.UTF8.GetString(answer));
            Assert.Contains("DataPlaneMaxFrameBytes", Encoding.UTF8.GetString(answer));
        }
        await using (var pull = await RawPeer.ConnectAsync(Plane.Endpoint!))
        {
            await pull.SendAsync(DataPlaneWire.Frame(DataPlaneWire.Pull, "any-run/0", length: 1 << 28)); // 1 GiB of floats
            Assert.NotNull(await pull.ClosedWithinAsync(Closing));
        }
        await using (var negative = await RawPeer.ConnectAsync(Plane.Endpoint!))
        {
            await negative.SendAsync(DataPlaneWire.Frame(DataPlaneWire.Push, "any-run/0", length: -5));
            Assert.NotNull(await negative.ClosedWithinAsync(Closing));
        }
        Assert.Equal(before.Of(Refusal.TooLarge) + 3, Plane.RefusedFor(Refusal.TooLarge));
        // The whole process allocated far less than one declared frame (other tests' silos may allocate meanwhile).
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - allocated < 256 << 20, "the declared gibibyte was allocated");
        Assert.True(Plane.PeakBufferedBytes <= Plane.MaxBufferedBytes);
        await AssertPlaneServesAsync();
    }

    [Fact]
    public async Task A_key_length_bomb_and_a_key_that_is_not_UTF8_are_refused()
    {
        var before = await QuietAsync();
        await using (var bomb = await RawPeer.ConnectAsync(Plane.Endpoint!))
        {
            await bomb.SendAsync(DataPlaneWire.Frame(DataPlaneWire.Pull, new byte[100], length: 1, declaredKeyLength: ushort.MaxValue));
            Assert.NotNull(await bomb.ClosedWithinAsync(Closing));
        }
        await using (var invalid = await RawPeer.ConnectAsync(Plane.Endpoint!))
        {
            await invalid.SendAsync(DataPlaneWire.Frame(DataPlaneWire.Pull, [0xC3, 0x28, 0xFF], length: 1));
            var answer = await invalid.ClosedWithinAsync(Closing);
            Assert.NotNull(answer);
            Assert.Contains("not UTF-8", Encoding.UTF8.GetString(answer));
        }
        Assert.Equal(before.Of(Refusal.Key) + 2, Plane.RefusedFor(Refusal.Key));
        await AssertPlaneServesAsync();
    }

    [Fact]
    public async Task A_frame_that_stops_halfway_is_closed_at_the_read_timeout_and_gives_its_buffer_back()
    {
        var before = await QuietAsync();
        await using var header = await RawPeer.ConnectAsync(Plane.Endpoint!);
        await using var halfHeader = await RawPeer.ConnectAsync(Plane.Endpoint!);
        await header.SendAsync(DataPlaneWire.Frame(DataPlaneWire.Push, "slow-run/0", length: 32 << 10)); // then silence
        await halfHeader.SendAsync(DataPlaneWire.Frame(DataPlaneWire.Push, "slow-run/0", length: 32 << 10)[..10]);
        await WaitForAsync(() => Plane.BufferedBytes == 32 << 10, "the frame's reservation");
        Assert.NotNull(await header.ClosedWithinAsync(Closing));
        Assert.NotNull(await halfHeader.ClosedWithinAsync(Closing));
        Assert.Equal(before.Of(Refusal.ReadTimeout) + 2, Plane.RefusedFor(Refusal.ReadTimeout));
        await WaitForAsync(() => Plane.BufferedBytes == 0, "the buffer given back");
        await AssertPlaneServesAsync();
    }

    [Fact]
    public async Task Frames_beyond_the_buffer_cap_wait_and_are_refused_and_the_cap_is_never_passed()
    {
        var before = await QuietAsync();
        // The waiter's frame begins first (its read timeout runs from its first byte), so it is still waiting for room
        // when its time is up, before the two frames that fill the budget time out and give theirs back.
        await using var waiter = await RawPeer.ConnectAsync(Plane.Endpoint!);
        var waiting = DataPlaneWire.Frame(DataPlaneWire.Push, "cap-run/0", length: HardenedPlaneFixture.MaxFrameBytes);
        await waiter.SendAsync(waiting[..1]);
        await Task.Delay(400);
        await using var first = await RawPeer.ConnectAsync(Plane.Endpoint!);
        await using var second = await RawPeer.ConnectAsync(Plane.Endpoint!);
        foreach (var holder in new[] { first, second })
            await holder.SendAsync(DataPlaneWire.Frame(DataPlaneWire.Push, "cap-run/0", length: HardenedPlaneFixture.MaxFrameBytes));
        await WaitForAsync(() => Plane.BufferedBytes == HardenedPlaneFixture.MaxBufferedBytes, "the budget filled");
        await waiter.SendAsync(waiting[1..]);
        var refused = await waiter.ClosedWithinAsync(Closing);
        Assert.NotNull(refused);
        Assert.Contains("refused (memory-cap)", Encoding.UTF8.GetString(refused));
        Assert.NotNull(await first.ClosedWithinAsync(Closing));
        Assert.NotNull(await second.ClosedWithinAsync(Closing));
        Assert.Equal(before.Of(Refusal.Memory) + 1, Plane.RefusedFor(Refusal.Memory));
        Assert.Equal(before.Of(Refusal.ReadTimeout) + 2, Plane.RefusedFor(Refusal.ReadTimeout));
        Assert.Equal(HardenedPlaneFixture.MaxBufferedBytes, Plane.PeakBufferedBytes);
        await WaitForAsync(() => Plane.BufferedBytes == 0, "the buffer given back");
        await AssertPlaneServesAsync();
    }

    [Fact]
    public async Task Connections_beyond_the_limit_are_closed_and_the_allowed_ones_still_serve()
    {
        var before = await QuietAsync();
        var shard = await ShardAsync("limit");
        var allowed = new List<RawPeer>();
        try
        {
            for (int i = 0; i < HardenedPlaneFixture.MaxConnections; i++) allowed.Add(await RawPeer.ConnectAsync(Plane.Endpoint!));
            await WaitForAsync(() => Plane.OpenConnections == HardenedPlaneFixture.MaxConnections, "every allowed connection accepted");
            await using (var extra = await RawPeer.ConnectAsync(Plane.Endpoint!))
                Assert.NotNull(await extra.ClosedWithinAsync(Closing));
            Assert.Equal(before.Of(Refusal.Connections) + 1, Plane.RefusedFor(Refusal.Connections));
            foreach (var peer in allowed)
            {
                await peer.SendAsync(DataPlaneWire.Frame(DataPlaneWire.Pull, shard.Key, length: Values, offset: 0));
                using var timeout = new CancellationTokenSource(Closing);
                var (status, _, data) = await DataPlaneWire.ReadAnswerAsync(peer.Stream, timeout.Token);
                Assert.Equal(0, status);
                Assert.Equal((await shard.Grain.PullAsync(0, Values)).Data, data);
            }
        }
        finally
        {
            foreach (var peer in allowed) await peer.DisposeAsync();
        }
        await AssertPlaneServesAsync();
    }

    [Fact]
    public async Task A_connection_idle_between_frames_is_closed_after_the_idle_timeout()
    {
        await QuietAsync();
        long idleBefore = Plane.IdleClosed;
        await using var idle = await RawPeer.ConnectAsync(Plane.Endpoint!);
        Assert.NotNull(await idle.ClosedWithinAsync(HardenedPlaneFixture.IdleTimeout + TimeSpan.FromSeconds(8)));
        Assert.Equal(idleBefore + 1, Plane.IdleClosed);
    }

    [Fact]
    public async Task With_TLS_a_member_of_the_cluster_pushes_and_pulls_the_bytes_plain_TCP_moves()
    {
        using var certificates = new TestCertificates();
        using var authority = TestCertificates.Authority("sslo test cluster");
        using var siloIdentity = certificates.Member(authority, "silo");
        using var clientIdentity = certificates.Member(authority, "client");
        using var tlsPlane = SiloPlane(siloIdentity);
        using var tlsSender = SenderPlane(clientIdentity);
        using var plainSender = SenderPlane(null);
        Assert.True(tlsPlane.Authenticated);

        var overTls = await ShardAsync("tls");
        var overTcp = await ShardAsync("tcp");
        var gradient = Contribution();
        await tlsSender.PushAsync(tlsPlane.Endpoint!, overTls.Key, gradient);
        await plainSender.PushAsync(Plane.Endpoint!, overTcp.Key, gradient);
        Assert.Equal(gradient.Data.Length, tlsPlane.BytesReceived);
        var apply = new ApplyRequest(0, 1, 0.5, 0.99, 0.1);
        await overTls.Grain.ApplyAsync(apply);
        await overTcp.Grain.ApplyAsync(apply);

        var pulledOverTls = await tlsSender.PullAsync(tlsPlane.Endpoint!, overTls.Key, 0, Values);
        var pulledOverTcp = await plainSender.PullAsync(Plane.Endpoint!, overTcp.Key, 0, Values);
        Assert.Equal(1, pulledOverTls.Version);
        Assert.Equal(pulledOverTcp.Data, pulledOverTls.Data);
        Assert.NotEqual(MemoryMarshal.AsBytes(Initial().AsSpan()).ToArray(), pulledOverTls.Data); // the push did take part
        Assert.Equal(0, tlsPlane.Refused);
    }

    [Fact]
    public async Task With_TLS_a_plain_client_and_a_client_of_another_authority_are_refused_before_any_frame()
    {
        using var certificates = new TestCertificates();
        using var authority = TestCertificates.Authority("sslo test cluster");
        using var foreignAuthority = TestCertificates.Authority("someone else's authority");
        using var siloIdentity = certificates.Member(authority, "silo");
        using var foreign = certificates.Member(foreignAuthority, "intruder");
        using var tlsPlane = SiloPlane(siloIdentity);
        var shard = await ShardAsync("refused");
        var push = DataPlaneWire.Frame(DataPlaneWire.Push, shard.Key, length: 8 * Values, first: 0, total: Values, count: 1);
        var frame = push.Concat(new byte[8 * Values]).ToArray();

        await using (var plain = await RawPeer.ConnectAsync(tlsPlane.Endpoint!))
        {
            await plain.SendAsync(frame);
            Assert.Equal(0, (await plain.ClosedWithinAsync(Closing))?.Length); // closed, and nothing answered
        }
        foreach (var certificate in new[] { foreign.Certificate, null })
        {
            await using var intruder = await RawPeer.ConnectAsync(tlsPlane.Endpoint!);
            var ssl = new SslStream(intruder.Stream, leaveInnerStreamOpen: false);
            intruder.Stream = ssl;
            try
            {
                // It accepts any server: the refusal tested is the listener's.
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = "127.0.0.1",
                    ClientCertificateContext = certificate is null ? null : SslStreamCertificateContext.Create(certificate, null, offline: true),
                    RemoteCertificateValidationCallback = (_, _, _, _) => true,
                });
                await intruder.SendAsync(frame); // TLS 1.3: the client's handshake ends before the listener judged its certificate
            }
            catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException) { /* refused in the handshake */ }
            var answer = await intruder.ClosedWithinAsync(Closing);
            Assert.True(answer is { Length: 0 }, "the intruder's connection was served or left open");
        }
        await WaitForAsync(() => tlsPlane.RefusedFor(Refusal.Tls) == 3, "three refusals for TLS");
        Assert.Equal(0, tlsPlane.BytesReceived);
        Assert.Empty((await shard.Grain.GetReceivedAsync(0)).Ranges); // no frame reached the shard
        Assert.Equal(MemoryMarshal.AsBytes(Initial().AsSpan()).ToArray(), (await shard.Grain.PullAsync(0, Values)).Data);
    }

    /// <summary>Waits until the plane serves no connection (those of earlier tests closed) and returns its refusals so far.</summary>
    private async Task<Counts> QuietAsync()
    {
        _ = Plane.Endpoint;
        await WaitForAsync(() => Plane.OpenConnections == 0, "earlier connections closed");
        return new Counts(Plane);
    }

    private sealed class Counts(Plane plane)
    {
        private readonly Dictionary<string, long> at = new[] { Refusal.Garbage, Refusal.Key, Refusal.TooLarge, Refusal.Memory, Refusal.ReadTimeout, Refusal.Connections, Refusal.Tls }
            .ToDictionary(r => r, plane.RefusedFor);
        public long Of(string reason) => at[reason];
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited 20 s for {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>The silo still serves a real push and pull through its plane, from another sender.</summary>
    private async Task AssertPlaneServesAsync()
    {
        using var sender = SenderPlane(null);
        var shard = await ShardAsync("after");
        var pulled = await sender.PullAsync(Plane.Endpoint!, shard.Key, 0, Values);
        Assert.Equal((await shard.Grain.PullAsync(0, Values)).Data, pulled.Data);
        await sender.PushAsync(Plane.Endpoint!, shard.Key, Contribution());
        Assert.Equal([new MicroBatchRange(0, 1)], (await shard.Grain.GetReceivedAsync(0)).Ranges);
    }

    /// <summary>A second plane on the silo (its grains, its address) with <paramref name="tls"/>, listening on a free port.</summary>
    private Plane SiloPlane(ClusterTls tls) => new(fixture.Silo.GetRequiredService<IGrainFactory>(), fixture.Silo.GetRequiredService<ILocalSiloDetails>(),
        NullLogger<Plane>.Instance, new PlaneOptions { Tls = tls, ReadTimeout = HardenedPlaneFixture.ReadTimeout, HandshakeTimeout = TimeSpan.FromSeconds(2) });

    /// <summary>A plane used only to send (its listener never starts), as another silo's would.</summary>
    private Plane SenderPlane(ClusterTls? tls) => new(Grains, fixture.Silo.GetRequiredService<ILocalSiloDetails>(),
        fixture.Silo.GetRequiredService<ILogger<Plane>>(), new PlaneOptions { Tls = tls });

    private async Task<(IParameterShardGrain Grain, string Key)> ShardAsync(string name)
    {
        var spec = RunPlan.WithMethodDefaults(new RunSpec { RunId = $"plane-{name}-{Guid.NewGuid():N}"[..28], Method = "byol", MirrorShards = false });
        var key = $"{spec.RunId}/0";
        var shard = Grains.GetGrain<IParameterShardGrain>(key);
        await shard.ConfigureAsync(new ShardConfig(new ShardRange(0, 0, Values, 0, 0, 0), [new TensorInfo("w", 0, Values, false, false, false)], spec));
        await shard.InitializeAsync(new ShardChunk(0, -1, 0, Values, MemoryMarshal.AsBytes(Initial().AsSpan()).ToArray()));
        return (shard, key);
    }

    private static float[] Initial() => Enumerable.Range(0, Values).Select(i => MathF.Sin(i) + 0.1f).ToArray();

    /// <summary>A float64 gradient sum of micro-batch 0, as a worker pushes it.</summary>
    private static ShardChunk Contribution()
    {
        var values = Enumerable.Range(0, Values).Select(i => Math.Cos(i * 0.37)).ToArray();
        return new ShardChunk(0, 0, 0, Values, MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), 1);
    }
}
