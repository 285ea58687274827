using System.Globalization;

namespace InferenceServer.Core.Scheduling;

/// <summary>
/// Triton's rate limiter (<c>--rate-limit execution_count</c>), one for the whole server: an instance whose group
/// declares <c>rate_limiter { resources [...] }</c> runs a batch only while it holds those resources, and instances
/// waiting for them are served in the order their <c>priority</c> weights give.
/// </summary>
/// <remarks>
/// <para>
/// Resources are counted per device (an instance's GPU; device 0 for a CPU instance) unless declared <c>global</c>.
/// A resource has the copies <c>--rate-limit-resource</c> gives it, otherwise as many as the largest count one
/// instance asks for, so every instance can run alone. An instance that asks for nothing never comes here: only
/// its own count of one batch at a time bounds it.
/// </para>
/// <para>
/// The line is stride scheduling: each grant moves a lease back by its weight (priority, 0 counting as 1), and the
/// lowest pass goes first, so an instance of priority 2 gets half the grants of one of priority 1 while both wait.
/// Only the head of the line is tried, as in Triton: an instance that asks for much is not overtaken for ever by
/// those that ask for little. A lease that joins the line (again) starts no further ahead than the last grant,
/// so an instance idle for an hour, or a model just loaded, cannot claim an hour of turns at once (Triton counts
/// executions since load, which a newly loaded model would then win until it caught up).
/// </para>
/// <para>
/// Callers hold their own (scheduler) lock around every call, and this takes its lock inside it, never the other way:
/// leases a call grants to other waiters are chained into <c>granted</c>, whose owners the caller tells once it has
/// let go of its lock (<see cref="IResourceWaiter.OnGranted"/>). No thread ever blocks waiting for a resource.
/// </para>
/// </remarks>
internal sealed class RateLimiter
{
    /// <summary>The device key of a global resource.</summary>
    public const int GlobalDevice = -1;

    private readonly Lock _lock = new();
    private readonly RateLimitResource[] _explicit;
    private readonly List<ResourceLease> _registered = [];
    private readonly List<ResourceLease> _waiting = [];
    private readonly Dictionary<(string Name, int Device), LimitedResource> _resources = [];
    private long _virtualPass;
    private long _sequence;

    /// <summary>A limiter with the totals <paramref name="resources"/> set (<c>--rate-limit-resource</c>).</summary>
    public RateLimiter(IEnumerable<RateLimitResource> resources)
    {
        _explicit = [.. resources];
    }

    /// <summary>
    /// Registers the instances of one model version at once: a lease for each <paramref name="demands"/> entry that asks
    /// for resources, null for one that asks for none. Null with a <paramref name="problem"/> naming the resource when
    /// the instances can never run under the totals (or declare a resource both global and per device); nothing is
    /// registered then.
    /// </summary>
    public ResourceLease?[]? TryRegister(string model, IReadOnlyList<InstanceDemand> demands, out string? problem)
    {
        var leases = new ResourceLease?[demands.Count];
        for (var i = 0; i < demands.Count; i++)
        {
            leases[i] = CreateLease(model, demands[i]);
        }
        lock (_lock)
        {
            foreach (var lease in leases)
            {
                if (lease is not null)
                {
                    _registered.Add(lease);
                }
            }
            problem = UpdateTotalsLocked();
            if (problem is not null)
            {
                foreach (var lease in leases)
                {
                    if (lease is not null)
                    {
                        _registered.Remove(lease);
                    }
                }
                UpdateTotalsLocked();
                return null;
            }
            foreach (var lease in leases)
            {
                if (lease is null)
                {
                    continue;
                }
                for (var r = 0; r < lease.Names.Length; r++)
                {
                    lease.Resources[r] = _resources[Key(lease, r)];
                }
            }
        }
        return leases;
    }

    /// <summary>
    /// Asks for <paramref name="lease"/>'s resources: true when it holds them now; otherwise it waits in line and its
    /// owner is told when it is granted. Other leases granted meanwhile are chained into <paramref name="granted"/>.
    /// </summary>
    public bool TryAcquire(ResourceLease lease, ref ResourceLease? granted)
    {
        lock (_lock)
        {
            if (lease.State != ResourceLeaseState.Idle)
            {
                throw new InvalidOperationException($"instance of model '{lease.Model}' asked for resources while it {Describe(lease.State)}");
            }
            JoinLocked(lease);
            return GrantLocked(lease, ref granted);
        }
    }

    /// <summary>
    /// Gives back what <paramref name="lease"/> holds. With <paramref name="requeue"/> it takes its place in line again
    /// in the same step, before anything is granted, so that it competes with those waiting by weight; true when it
    /// holds its resources again at once.
    /// </summary>
    public bool Release(ResourceLease lease, bool requeue, ref ResourceLease? granted)
    {
        lock (_lock)
        {
            if (lease.State != ResourceLeaseState.Held)
            {
                throw new InvalidOperationException($"instance of model '{lease.Model}' released resources while it {Describe(lease.State)}");
            }
            ReleaseLocked(lease);
            if (requeue)
            {
                JoinLocked(lease);
            }
            return GrantLocked(requeue ? lease : null, ref granted);
        }
    }

    /// <summary>
    /// Takes <paramref name="lease"/> out of line (its instance no longer has work): true when it is out; false when it
    /// had been granted already, in which case its owner is being told, and must release it.
    /// </summary>
    public bool Withdraw(ResourceLease lease, ref ResourceLease? granted)
    {
        lock (_lock)
        {
            if (lease.State == ResourceLeaseState.Held)
            {
                return false;
            }
            if (lease.State == ResourceLeaseState.Waiting)
            {
                _waiting.Remove(lease);
                lease.State = ResourceLeaseState.Idle;
                // It may have been the head that held the others back.
                GrantLocked(null, ref granted);
            }
            return true;
        }
    }

    /// <summary>
    /// Removes <paramref name="lease"/> for good (its instance is gone): what it holds is given back, its place in line
    /// is dropped, and the totals that followed from its counts are worked out again.
    /// </summary>
    public void Unregister(ResourceLease lease, ref ResourceLease? granted)
    {
        lock (_lock)
        {
            switch (lease.State)
            {
                case ResourceLeaseState.Removed:
                    return;
                case ResourceLeaseState.Held:
                    ReleaseLocked(lease);
                    break;
                case ResourceLeaseState.Waiting:
                    _waiting.Remove(lease);
                    break;
            }
            lease.State = ResourceLeaseState.Removed;
            _registered.Remove(lease);
            // Fewer instances can only lower the totals that follow from their counts: nothing new can be refused.
            UpdateTotalsLocked();
            GrantLocked(null, ref granted);
        }
    }

    /// <summary>Every resource now: its name, device (<see cref="GlobalDevice"/> for global), total and copies held.</summary>
    public IReadOnlyList<(string Name, int Device, int Total, int Used)> Snapshot()
    {
        lock (_lock)
        {
            var snapshot = new List<(string, int, int, int)>(_resources.Count);
            foreach (var resource in _resources.Values)
            {
                snapshot.Add((resource.Name, resource.Device, resource.Total, resource.Used));
            }
            return snapshot;
        }
    }

    /// <summary>Instances waiting in line now.</summary>
    public int WaitingCount
    {
        get
        {
            lock (_lock)
            {
                return _waiting.Count;
            }
        }
    }

    private static ResourceLease? CreateLease(string model, InstanceDemand demand)
    {
        if (demand.Config is not { } config)
        {
            return null;
        }
        var names = new List<string>();
        var global = new List<bool>();
        var counts = new List<int>();
        foreach (var resource in config.Resources)
        {
            // A count of 0 asks for nothing (the config validator refuses empty names and counts above int.MaxValue).
            if (resource.Count == 0)
            {
                continue;
            }
            names.Add(resource.Name);
            global.Add(resource.Global);
            counts.Add((int)resource.Count);
        }
        if (names.Count == 0)
        {
            return null;
        }
        var weight = (int)Math.Clamp(config.Priority, 1u, int.MaxValue);
        return new ResourceLease(model, demand.Group, demand.Device, weight, [.. names], [.. global], [.. counts]);
    }

    private static (string, int) Key(ResourceLease lease, int r) => (lease.Names[r], lease.Global[r] ? GlobalDevice : lease.Device);

    private void JoinLocked(ResourceLease lease)
    {
        lease.State = ResourceLeaseState.Waiting;
        lease.Pass = Math.Max(lease.Pass, _virtualPass);
        lease.Sequence = ++_sequence;
        _waiting.Add(lease);
    }

    private void ReleaseLocked(ResourceLease lease)
    {
        for (var r = 0; r < lease.Counts.Length; r++)
        {
            lease.Resources[r].Used -= lease.Counts[r];
        }
        lease.State = ResourceLeaseState.Idle;
    }

    /// <summary>
    /// Grants the head of the line for as long as its resources are free; true when <paramref name="self"/> was granted
    /// (the caller's own lease, whose owner is not told: the caller knows). The others are chained into <paramref name="granted"/>.
    /// </summary>
    private bool GrantLocked(ResourceLease? self, ref ResourceLease? granted)
    {
        var selfGranted = false;
        while (_waiting.Count > 0)
        {
            // A linear scan: the line holds at most one entry per instance of the server, a handful to hundreds.
            var head = 0;
            for (var i = 1; i < _waiting.Count; i++)
            {
                var candidate = _waiting[i];
                var best = _waiting[head];
                if (candidate.Pass < best.Pass || (candidate.Pass == best.Pass && candidate.Sequence < best.Sequence))
                {
                    head = i;
                }
            }
            var lease = _waiting[head];
            for (var r = 0; r < lease.Counts.Length; r++)
            {
                var resource = lease.Resources[r];
                if (resource.Used + lease.Counts[r] > resource.Total)
                {
                    return selfGranted;
                }
            }
            _waiting[head] = _waiting[^1];
            _waiting.RemoveAt(_waiting.Count - 1);
            for (var r = 0; r < lease.Counts.Length; r++)
            {
                lease.Resources[r].Used += lease.Counts[r];
            }
            lease.State = ResourceLeaseState.Held;
            _virtualPass = Math.Max(_virtualPass, lease.Pass);
            lease.Pass += lease.Weight;
            if (ReferenceEquals(lease, self))
            {
                selfGranted = true;
            }
            else
            {
                lease.NextGranted = granted;
                granted = lease;
            }
        }
        return selfGranted;
    }

    /// <summary>
    /// Works the totals out from the registered leases and the explicit ones: null when every lease can run, else what
    /// stops one. Resource objects are kept (leases point at them); one no lease names any more goes.
    /// </summary>
    private string? UpdateTotalsLocked()
    {
        var largest = new Dictionary<(string, int), int>();
        var declaredGlobal = new Dictionary<string, string>(StringComparer.Ordinal);
        var declaredPerDevice = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var lease in _registered)
        {
            for (var r = 0; r < lease.Names.Length; r++)
            {
                var key = Key(lease, r);
                largest[key] = Math.Max(largest.GetValueOrDefault(key), lease.Counts[r]);
                (lease.Global[r] ? declaredGlobal : declaredPerDevice).TryAdd(lease.Names[r], Describe(lease));
            }
        }
        foreach (var (name, where) in declaredGlobal)
        {
            if (declaredPerDevice.TryGetValue(name, out var other))
            {
                return $"rate limiter resource '{name}' is declared global by {where} and per device by {other}; "
                    + "a resource must be one or the other (set 'global' the same way in every rate_limiter that names it)";
            }
        }

        var totals = new Dictionary<(string, int), int>(largest.Count);
        foreach (var (key, needed) in largest)
        {
            var given = ExplicitTotal(key.Item1, key.Item2);
            if (given is { } total && total < needed)
            {
                var device = key.Item2 == GlobalDevice ? "(global)" : string.Create(CultureInfo.InvariantCulture, $"on device {key.Item2}");
                return string.Create(CultureInfo.InvariantCulture,
                    $"rate limiter resource '{key.Item1}' {device} is limited to {total} by --rate-limit-resource, but an instance asks for {needed}: it could never run; "
                    + $"give the resource at least {needed} copies or lower the instance group's count of it");
            }
            totals[key] = given ?? needed;
        }
        foreach (var (key, total) in totals)
        {
            if (!_resources.TryGetValue(key, out var resource))
            {
                resource = new LimitedResource(key.Item1, key.Item2);
                _resources[key] = resource;
            }
            resource.Total = total;
        }
        List<(string, int)>? unused = null;
        foreach (var (key, resource) in _resources)
        {
            if (!totals.ContainsKey(key) && resource.Used == 0)
            {
                (unused ??= []).Add(key);
            }
        }
        if (unused is not null)
        {
            foreach (var key in unused)
            {
                _resources.Remove(key);
            }
        }
        return null;
    }

    // A global resource takes the largest total given for its name on any device, as in Triton; a per-device one the
    // largest given for its device or for every device.
    private int? ExplicitTotal(string name, int device)
    {
        int? total = null;
        foreach (var resource in _explicit)
        {
            if (resource.Name == name && (device == GlobalDevice || resource.Device is null || resource.Device == device))
            {
                total = Math.Max(total ?? 0, resource.Count);
            }
        }
        return total;
    }

    private static string Describe(ResourceLease lease) => $"model '{lease.Model}' group '{lease.Group}'";

    private static string Describe(ResourceLeaseState state) => state switch
    {
        ResourceLeaseState.Waiting => "was already waiting for them",
        ResourceLeaseState.Held => "already held them",
        ResourceLeaseState.Removed => "was no longer registered",
        _ => "held none",
    };
}
