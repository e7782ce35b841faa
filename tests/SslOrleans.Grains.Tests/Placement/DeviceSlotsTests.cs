using System.Net;
using SslOrleans.Grains.Placement;

namespace SslOrleans.Grains.Tests.Placement;

public sealed class DeviceSlotsTests
{
    [Theory]
    [InlineData("cpu", 8, "cpu@8")]
    [InlineData("cpu*2", 8, "cpu@4,cpu@4")]
    [InlineData("cpu*3", 2, "cpu@1,cpu@1,cpu@1")]
    [InlineData("cpu@2, cpu@6", 8, "cpu@2,cpu@6")]
    [InlineData("CUDA:0@4,cuda:1@4", 8, "cuda:0@4,cuda:1@4")]
    [InlineData("cpu,cuda:0", 8, "cpu@4,cuda:0@4")]
    [InlineData("none", 8, "none")]
    [InlineData("", 8, "none")]
    public void Device_lists_parse_to_slots_with_their_threads(string text, int cores, string expected)
    {
        var slots = DeviceSlots.Parse(text, cores);
        Assert.Equal(expected, DeviceSlots.Format(slots));
        // The advertised form parses back to the same slots on a silo with any core count.
        Assert.Equal(slots, DeviceSlots.Parse(DeviceSlots.Format(slots), 1));
    }

    [Theory]
    [InlineData("gpu", "the device must be cpu or cuda:N")]
    [InlineData("cuda:x", "the device must be cpu or cuda:N")]
    [InlineData("cpu@0", "threads after '@' must be a whole number of at least 1")]
    [InlineData("cpu*0", "a count after '*' must be a whole number of at least 1")]
    [InlineData("cpu,,cpu", "an empty item")]
    [InlineData("cuda:0*2", "a GPU is one slot")]
    [InlineData("cuda:1,cuda:1", "a GPU is listed twice")]
    public void Bad_device_lists_are_refused_naming_the_key_and_the_problem(string text, string problem)
    {
        var e = Assert.Throws<ArgumentException>(() => DeviceSlots.Parse(text, 4));
        Assert.Contains("SslTraining:Devices", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void A_silo_without_CUDA_refuses_to_offer_a_GPU()
    {
        var e = Assert.Throws<ArgumentException>(() => DeviceSlots.RequireAvailable(DeviceSlots.Parse("cuda:0", 2)));
        Assert.Contains("cuda:0", e.Message);
        DeviceSlots.RequireAvailable(DeviceSlots.Parse("cpu*2", 2)); // CPU slots need nothing
    }

    private static SiloSlots Silo(int port, string devices, int limit = 100 << 20) =>
        new(SiloAddress.New(new IPEndPoint(IPAddress.Loopback, port), 1), DeviceSlots.Parse(devices, 2), limit);

    [Fact]
    public void Workers_take_each_silos_first_slot_before_any_second_slot_and_never_share_a_slot()
    {
        var silos = new[] { Silo(11113, "cpu*2"), Silo(11111, "cpu*3"), Silo(11112, "none") };
        var placed = SlotAssignment.Assign(5, silos);
        Assert.Equal([11111, 11113, 11111, 11113, 11111], placed.Select(w => w.Silo.Endpoint.Port));
        Assert.Equal([0, 0, 1, 1, 2], placed.Select(w => w.SlotIndex));
        Assert.Equal(placed.Length, placed.Select(w => (w.Silo, w.SlotIndex)).Distinct().Count());
        Assert.DoesNotContain(placed, w => w.Silo.Endpoint.Port == 11112); // offers no slot, gets no worker
        Assert.Equal(2, SlotAssignment.Assign(2, silos).Select(w => w.Silo).Distinct().Count());
    }

    [Fact]
    public void More_workers_than_slots_is_refused_with_the_slots_named()
    {
        var silos = new[] { Silo(11111, "cpu"), Silo(11112, "none") };
        var e = Assert.Throws<ArgumentException>(() => SlotAssignment.Assign(2, silos));
        Assert.Contains("workers: 2, but the cluster offers 1 device slot", e.Message);
        Assert.Contains("none", e.Message);
    }

    [Fact]
    public void Slots_held_by_other_runs_are_skipped_and_named_when_too_few_are_left()
    {
        var silos = new[] { Silo(11111, "cpu*2"), Silo(11112, "cpu") };
        var held = new Dictionary<string, string> { [SlotAssignment.Name(silos[0].Silo, 0)] = "other-run" };
        var placed = SlotAssignment.Assign(2, silos, held);
        Assert.Equal([(11112, 0), (11111, 1)], placed.Select(w => (w.Silo.Endpoint.Port, w.SlotIndex)));
        var e = Assert.Throws<ArgumentException>(() => SlotAssignment.Assign(3, silos, held));
        Assert.Contains("the cluster offers 3 device slots, 1 of them held by running run 'other-run'", e.Message);
    }

    [Fact]
    public void Shards_cycle_over_every_silo_and_the_smallest_message_limit_is_found()
    {
        var silos = new[] { Silo(11112, "none", 1 << 20), Silo(11111, "cpu") };
        Assert.Equal([11111, 11112, 11111], SlotAssignment.Spread(3, silos).Select(s => s.Endpoint.Port));
        Assert.Equal((11112, 1 << 20), (SlotAssignment.SmallestMessageLimit(silos).Silo.Endpoint.Port, SlotAssignment.SmallestMessageLimit(silos).Limit));
    }
}
