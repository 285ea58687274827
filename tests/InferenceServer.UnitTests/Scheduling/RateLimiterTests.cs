using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;

namespace InferenceServer.UnitTests.Scheduling;

/// <summary>
/// The rate limiter alone: totals, the order of grants, priority weights, and that whatever leaves the line (withdrawn,
/// unregistered) gives back what it holds and lets the next one go.
/// </summary>
public sealed class RateLimiterTests
{
    /// <summary>Records the grants its leases are told of, in order.</summary>
    private sealed class Waiter : IResourceWaiter
    {
        public List<ResourceLease> Granted { get; } = [];

        public void OnGranted(ResourceLease lease) => Granted.Add(lease);
    }

    private static ModelRateLimiter Limits(uint priority, params (string Name, uint Count, bool Global)[] resources)
    {
        var config = new ModelRateLimiter { Priority = priority };
        foreach (var (name, count, global) in resources)
        {
            config.Resources.Add(new ModelRateLimiter.Types.Resource { Name = name, Count = count, Global = global });
        }
        return config;
    }

    private static ResourceLease Register(RateLimiter limiter, Waiter waiter, string model, ModelRateLimiter config, int device = 0)
    {
        var leases = limiter.TryRegister(model, [new InstanceDemand(config, device, model + "_0")], out var problem);
        Assert.Null(problem);
        var lease = Assert.Single(leases!)!;
        lease.Owner = waiter;
        return lease;
    }

    // Registers one instance per entry (priority 1, resource R) and asks for each in turn: the first is granted, the
    // others wait in that order.
    private static ResourceLease[] Line(RateLimiter limiter, Waiter waiter, params (string Model, uint Count)[] instances)
    {
        var leases = instances.Select(i => Register(limiter, waiter, i.Model, Limits(1, ("R", i.Count, false)))).ToArray();
        ResourceLease? granted = null;
        Assert.True(limiter.TryAcquire(leases[0], ref granted));
        foreach (var lease in leases[1..])
        {
            Assert.False(limiter.TryAcquire(lease, ref granted));
        }
        Assert.Null(granted);
        return leases;
    }

    // Both always have work: whoever holds the resource gives it back and queues again in the same step. The holder of
    // each of the next turns, in order.
    private static List<ResourceLease> Turns(RateLimiter limiter, ResourceLease holder, int count)
    {
        var turns = new List<ResourceLease>(count);
        for (var i = 0; i < count; i++)
        {
            ResourceLease? granted = null;
            if (!limiter.Release(holder, requeue: true, ref granted))
            {
                holder = Assert.IsType<ResourceLease>(granted);
                Assert.Null(granted.NextGranted);
            }
            turns.Add(holder);
        }
        return turns;
    }

    // Tells the owners of a chain of grants, as a scheduler does once it has let go of its lock.
    private static void Tell(ResourceLease? granted)
    {
        while (granted is not null)
        {
            var next = granted.NextGranted;
            granted.NextGranted = null;
            granted.Owner.OnGranted(granted);
            granted = next;
        }
    }

    [Fact]
    public void A_resource_has_the_largest_count_one_instance_asks_for_per_device_unless_given()
    {
        var limiter = new RateLimiter([new RateLimitResource("R2", 9, 1)]);
        var waiter = new Waiter();
        Register(limiter, waiter, "a", Limits(1, ("R1", 4, false), ("R2", 4, false)));
        Register(limiter, waiter, "b", Limits(1, ("R1", 2, false), ("R3", 10, true)));
        Register(limiter, waiter, "c", Limits(1, ("R1", 1, false), ("R2", 5, false)), device: 1);

        var totals = limiter.Snapshot().OrderBy(r => r.Device).ThenBy(r => r.Name).Select(r => (r.Name, r.Device, r.Total)).ToArray();
        Assert.Equal([("R3", RateLimiter.GlobalDevice, 10), ("R1", 0, 4), ("R2", 0, 4), ("R1", 1, 1), ("R2", 1, 9)], totals);
    }

    [Fact]
    public void An_instance_that_could_never_run_is_refused_naming_the_resource()
    {
        var limiter = new RateLimiter([new RateLimitResource("R1", 2, null)]);
        var leases = limiter.TryRegister("big", [new InstanceDemand(Limits(1, ("R1", 3, false)), 0, "big_0")], out var problem);

        Assert.Null(leases);
        Assert.Equal("rate limiter resource 'R1' on device 0 is limited to 2 by --rate-limit-resource, but an instance asks for 3: it could never run; "
            + "give the resource at least 3 copies or lower the instance group's count of it", problem);
        Assert.Empty(limiter.Snapshot());
    }

    [Fact]
    public void A_resource_cannot_be_global_for_one_model_and_per_device_for_another()
    {
        var limiter = new RateLimiter([]);
        Register(limiter, new Waiter(), "a", Limits(1, ("R", 1, true)));
        var leases = limiter.TryRegister("b", [new InstanceDemand(Limits(1, ("R", 1, false)), 0, "b_0")], out var problem);

        Assert.Null(leases);
        Assert.StartsWith("rate limiter resource 'R' is declared global by model 'a' group 'a_0' and per device by model 'b' group 'b_0'", problem);
    }

    [Fact]
    public void An_instance_that_asks_for_nothing_gets_no_lease()
    {
        var limiter = new RateLimiter([]);
        var leases = limiter.TryRegister("m", [new InstanceDemand(null, 0, "g"), new InstanceDemand(Limits(2, ("R", 0, false)), 0, "g")], out var problem);

        Assert.Null(problem);
        Assert.Equal([null, null], leases!);
    }

    [Fact]
    public void Waiters_are_granted_in_arrival_order_as_resources_free_up()
    {
        var limiter = new RateLimiter([]);
        var waiter = new Waiter();
        var line = Line(limiter, waiter, ("a", 1), ("b", 1), ("c", 1));
        var (a, b, c) = (line[0], line[1], line[2]);
        ResourceLease? granted = null;
        Assert.Equal(2, limiter.WaitingCount);

        Assert.False(limiter.Release(a, requeue: false, ref granted));
        Tell(granted);
        granted = null;
        Assert.Equal([b], waiter.Granted);
        Assert.False(limiter.Release(b, requeue: false, ref granted));
        Tell(granted);
        Assert.Equal([b, c], waiter.Granted);
        Assert.Equal(1, limiter.Snapshot().Single().Used);
    }

    [Fact]
    public void Priority_two_gets_half_the_turns_of_priority_one()
    {
        var limiter = new RateLimiter([]);
        var waiter = new Waiter();
        var one = Register(limiter, waiter, "one", Limits(1, ("R", 1, false)));
        var two = Register(limiter, waiter, "two", Limits(2, ("R", 1, false)));
        ResourceLease? granted = null;
        Assert.True(limiter.TryAcquire(one, ref granted));
        Assert.False(limiter.TryAcquire(two, ref granted));

        var turns = Turns(limiter, one, 300);

        Assert.Equal(200, turns.Count(t => t == one), 1.0);
        Assert.Equal(100, turns.Count(t => t == two), 1.0);
    }

    [Fact]
    public void The_head_of_the_line_is_not_overtaken_by_an_instance_that_asks_for_less()
    {
        var limiter = new RateLimiter([new RateLimitResource("R", 4, null)]);
        var waiter = new Waiter();
        // Once the small one holds a copy, three are free, but the big one waits ahead of the other.
        var line = Line(limiter, waiter, ("small", 1), ("big", 4), ("other", 1));
        var (small, big) = (line[0], line[1]);
        ResourceLease? granted = null;

        limiter.Release(small, requeue: false, ref granted);
        Tell(granted);
        Assert.Equal([big], waiter.Granted);
    }

    [Fact]
    public void A_withdrawn_waiter_lets_those_behind_it_go_and_a_granted_one_cannot_be_withdrawn()
    {
        var limiter = new RateLimiter([new RateLimitResource("R", 4, null)]);
        var waiter = new Waiter();
        var line = Line(limiter, waiter, ("small", 1), ("big", 4), ("other", 1));
        var (big, other) = (line[1], line[2]);
        ResourceLease? granted = null;

        // The big one's work is gone (its requests were cancelled): the one behind it runs at once.
        Assert.True(limiter.Withdraw(big, ref granted));
        Tell(granted);
        Assert.Equal([other], waiter.Granted);
        Assert.False(limiter.Withdraw(other, ref granted));
        Assert.Equal(0, limiter.WaitingCount);
        Assert.Equal(2, limiter.Snapshot().Single().Used);
    }

    [Fact]
    public void Unregistering_gives_back_what_the_instance_held_and_wakes_the_next()
    {
        var limiter = new RateLimiter([]);
        var waiter = new Waiter();
        var gone = Register(limiter, waiter, "gone", Limits(1, ("R", 2, false), ("G", 1, true)));
        var next = Register(limiter, waiter, "next", Limits(1, ("R", 1, false)));
        ResourceLease? granted = null;
        limiter.TryAcquire(gone, ref granted);
        Assert.False(limiter.TryAcquire(next, ref granted));

        limiter.Unregister(gone, ref granted);
        Tell(granted);

        Assert.Equal([next], waiter.Granted);
        // G was only the unloaded model's; R now has as many copies as the instance left asks for.
        var resource = Assert.Single(limiter.Snapshot());
        Assert.Equal(("R", 0, 1, 1), resource);
        granted = null;
        limiter.Release(next, requeue: false, ref granted);
        Assert.Equal(0, limiter.Snapshot().Single().Used);
    }

    [Fact]
    public void A_newcomer_gets_no_turns_for_the_time_before_it_came()
    {
        var limiter = new RateLimiter([]);
        var waiter = new Waiter();
        var old = Register(limiter, waiter, "old", Limits(1, ("R", 1, false)));
        ResourceLease? granted = null;
        for (var i = 0; i < 100; i++)
        {
            Assert.True(limiter.TryAcquire(old, ref granted));
            limiter.Release(old, requeue: false, ref granted);
        }
        var newcomer = Register(limiter, waiter, "new", Limits(1, ("R", 1, false)));
        Assert.True(limiter.TryAcquire(old, ref granted));
        Assert.False(limiter.TryAcquire(newcomer, ref granted));

        var turns = Turns(limiter, old, 20);

        // Equal priorities alternate from the start, rather than the newcomer taking 100 turns in a row.
        Assert.Equal(10, turns.Count(t => t == old), 1.0);
    }

    [Theory]
    [InlineData("R1:4", "R1", 4, null)]
    [InlineData("R1:4:1", "R1", 4, 1)]
    public void A_resource_flag_reads_name_count_and_device(string text, string name, int count, int? device) =>
        Assert.Equal(new RateLimitResource(name, count, device), RateLimitResource.Parse(text));

    [Theory]
    [InlineData("R1", "--rate-limit-resource 'R1' is not valid: expected <name>:<count> or <name>:<count>:<device>")]
    [InlineData(":4", "--rate-limit-resource ':4' is not valid: the resource name is empty; expected <name>:<count>[:<device>]")]
    [InlineData("R1:-1", "--rate-limit-resource 'R1:-1' is not valid: the count '-1' is not a whole number from 0 to 2147483647")]
    [InlineData("R1:2:gpu0", "--rate-limit-resource 'R1:2:gpu0' is not valid: the device 'gpu0' is not a device number (0 or more)")]
    public void A_bad_resource_flag_says_what_is_wrong(string text, string message) =>
        Assert.Equal(message, Assert.Throws<ArgumentException>(() => RateLimitResource.Parse(text)).Message);
}
