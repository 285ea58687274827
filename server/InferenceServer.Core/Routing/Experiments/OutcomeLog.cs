using InferenceServer.Core.Inference;
using InferenceServer.Core.Routing.Config;

namespace InferenceServer.Core.Routing.Experiments;

/// <summary>
/// The request ids a route's experiment answered most recently, each with the variant that answered it and its
/// prediction, so that an outcome reported later (feedback) is joined to that variant; and the outcomes joined so far,
/// summed per variant.
/// </summary>
/// <remarks>
/// <para>The window holds the last <see cref="Experiment.Window"/> records: a ring of that many slots (grown on demand up
/// to it, so an idle route costs little) and a map from id to the slot of its newest record. Recording the next id
/// overwrites the oldest slot and forgets that id, so memory is bounded by the window whatever the traffic.</para>
/// <para>An id recorded again (a client reusing ids) belongs to the later request from then on: the earlier one can no
/// longer take an outcome, and the later one can take one even when the earlier one had. Ids are the client's (or the
/// server's when the client gave none), so the later request is the one the client is likely to report on.</para>
/// <para>One lock guards the ring, the map and the sums: a record or a join is a map lookup and a slot write, so it is
/// held briefly, and the window is exact and each outcome counted once however many threads write. A record allocates
/// nothing once the window is full (a forgotten id's map entry takes the next one).</para>
/// </remarks>
internal sealed class OutcomeLog
{
    // Slots allocated before the first record; the ring doubles up to the window as records arrive.
    private const int InitialCapacity = 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _newest;
    private readonly VariantOutcomes[] _totals;
    private readonly int _window;
    private readonly double _threshold;
    private Slot[] _ring;
    private long _next;

    /// <param name="variantCount">The route's variants; records name one by its index.</param>
    /// <param name="config">The route's experiment, its defaults filled in (window, prediction threshold).</param>
    public OutcomeLog(int variantCount, Experiment config)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(variantCount, 1);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfZero(config.Window, nameof(config));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(config.Window, RoutingConfigValidator.MaxExperimentWindow, nameof(config));
        _window = (int)config.Window;
        _threshold = config.PredictionThreshold;
        _totals = new VariantOutcomes[variantCount];
        _ring = new Slot[Math.Min(_window, InitialCapacity)];
        _newest = new Dictionary<string, long>(_ring.Length, StringComparer.Ordinal);
    }

    /// <summary>The most recent request ids kept.</summary>
    public int Window => _window;

    /// <summary>The route's variants.</summary>
    public int VariantCount => _totals.Length;

    /// <summary>The ids an outcome can be joined to now (at most <see cref="Window"/>).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _newest.Count;
            }
        }
    }

    /// <summary>Remembers that <paramref name="variant"/> answered request <paramref name="requestId"/>.</summary>
    /// <param name="requestId">The request's id, as the response echoed it.</param>
    /// <param name="variant">The index of the variant that answered.</param>
    /// <param name="prediction">The first value of the experiment's prediction output; null (or not finite) when none.</param>
    public void Record(string requestId, int variant, double? prediction = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        ArgumentOutOfRangeException.ThrowIfNegative(variant);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(variant, _totals.Length);
        // A NaN prediction (a model's) would make every accuracy figure NaN: it counts as none.
        var value = prediction is { } p && double.IsFinite(p) ? p : double.NaN;
        lock (_lock)
        {
            var sequence = _next++;
            var index = (int)(sequence % _window);
            if (index == _ring.Length)
            {
                // Only while the first lap fills the ring: from then on it holds the whole window.
                Array.Resize(ref _ring, (int)Math.Min(2L * _ring.Length, _window));
            }
            ref var slot = ref _ring[index];
            // The slot's record is the oldest in the window; its id is forgotten unless a later record took it over.
            if (slot.Id is { } oldest && _newest.TryGetValue(oldest, out var recorded) && recorded == sequence - _window)
            {
                _newest.Remove(oldest);
            }
            _newest[requestId] = sequence;
            slot = new Slot(requestId, variant, value);
        }
    }

    /// <summary>Joins <paramref name="outcome"/> to the variant that answered <paramref name="requestId"/>.</summary>
    /// <returns>The index of that variant.</returns>
    /// <exception cref="InferenceException">
    /// No id given (invalid); the id is not in the window, never answered or forgotten (not found); the request already
    /// has an outcome (invalid).
    /// </exception>
    public int Join(string requestId, Outcome outcome)
    {
        if (string.IsNullOrEmpty(requestId))
        {
            throw InferenceException.Invalid("an outcome needs the id of the request it follows: the 'id' the response echoed");
        }
        lock (_lock)
        {
            if (!_newest.TryGetValue(requestId, out var sequence))
            {
                throw new InferenceException(InferenceErrorKind.NotFound,
                    $"request id '{requestId}' is not among the {_window} most recent requests of this route's experiment: it was never answered by the route, or newer requests have pushed it out");
            }
            ref var slot = ref _ring[(int)(sequence % _window)];
            if (slot.Joined)
            {
                throw InferenceException.Invalid($"request id '{requestId}' already has an outcome: each request takes one");
            }
            slot.Joined = true;
            _totals[slot.Variant] = _totals[slot.Variant].Add(outcome, slot.Prediction, _threshold);
            return slot.Variant;
        }
    }

    /// <summary>The outcomes joined so far, one entry per variant, in the route's order; a copy the caller owns.</summary>
    public VariantOutcomes[] Snapshot()
    {
        lock (_lock)
        {
            return (VariantOutcomes[])_totals.Clone();
        }
    }

    private struct Slot(string id, int variant, double prediction)
    {
        public readonly string? Id = id;
        public readonly int Variant = variant;
        public readonly double Prediction = prediction;
        public bool Joined;
    }
}
