using System.Globalization;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Routing.Config;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Core.Routing.Rollouts;

/// <summary>
/// Rolls a canary variant out step by step (say 5 → 25 → 50 → 100 per cent of a route's traffic), judging it against
/// the baseline over each step: once the canary has answered <c>min_requests</c> in the step, a failing gate (error
/// rate, p99 latency ratio, shadow decision flips) sets the canary to 0% at once and records why; gates that all pass
/// after <c>min_step_seconds</c> promote it to the next step, with fresh windows. Reaching the last step (100%) ends
/// the rollout, promoted. An operator may pause (the gates still roll back, never promote), resume, promote by hand
/// (skip to the next step now) or abort (canary 0%).
/// </summary>
/// <remarks>
/// <see cref="Record"/> is the request path: lock-free. The evaluation runs on a one-second timer and every state
/// change runs under one lock, which also orders the calls to <c>setCanaryPercent</c>: that callback is called under
/// the lock and must not call back into the controller.
/// </remarks>
internal sealed partial class RolloutController : IDisposable
{
    /// <summary>The most events the history keeps; the oldest go first.</summary>
    public const int HistoryCapacity = 256;

    private static readonly TimeSpan EvaluationPeriod = TimeSpan.FromSeconds(1);

    private readonly string _route;
    private readonly Rollout _config;
    private readonly int _canaryIndex;
    private readonly int _baselineIndex;
    private readonly Action<uint> _setCanaryPercent;
    private readonly Func<(long Decisions, long Flips)>? _shadowDecisions;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly VariantWindow _canary = new();
    private readonly VariantWindow _baseline = new();
    private readonly Lock _lock = new();
    private readonly Queue<RolloutEvent> _history = new();
    private readonly ITimer? _timer;

    // Read without the lock by Record: false once the rollout has ended.
    private volatile bool _recording = true;

    // Under the lock.
    private RolloutState _state;
    private int _step;
    private uint _percent;
    private long _stepStartedAt;
    private DateTimeOffset _stepStartedUtc;
    private (long Decisions, long Flips) _shadowAtStepStart;
    private string? _waiting;
    private long _promotions;
    private long _rollbacks;
    private bool _disposed;

    /// <param name="routeName">The route's name, for the status, messages and logs.</param>
    /// <param name="config">The route's rollout, defaults filled in (as the routing config reader leaves it).</param>
    /// <param name="canaryIndex">The canary's variant index in the route (<see cref="Record"/> is called with these).</param>
    /// <param name="baselineIndex">The baseline's variant index.</param>
    /// <param name="setCanaryPercent">Gives the canary this share of the traffic in per cent and the baseline the rest; called under the controller's lock.</param>
    /// <param name="shadowDecisions">When the canary is shadowed: the shadow's cumulative decisions compared and flips; null otherwise (no flip gate).</param>
    /// <param name="timeProvider">The clock of the steps and the evaluation timer.</param>
    /// <param name="logger">Where promotions, rollbacks and operator actions are logged.</param>
    public RolloutController(string routeName, Rollout config, int canaryIndex, int baselineIndex, Action<uint> setCanaryPercent,
        Func<(long Decisions, long Flips)>? shadowDecisions, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegative(canaryIndex);
        ArgumentOutOfRangeException.ThrowIfNegative(baselineIndex);
        if (canaryIndex == baselineIndex || config.Steps.Count == 0 || config.Steps[^1] != 100)
        {
            throw new ArgumentException("a rollout needs a canary other than its baseline and steps ending at 100, as the routing config reader checks", nameof(config));
        }
        _route = routeName;
        _config = config;
        _canaryIndex = canaryIndex;
        _baselineIndex = baselineIndex;
        _setCanaryPercent = setCanaryPercent;
        _shadowDecisions = shadowDecisions;
        _time = timeProvider;
        _logger = logger;
        lock (_lock)
        {
            if (config.StartPaused)
            {
                // Before its first step the canary takes only forced requests, whatever weight it was declared with.
                _setCanaryPercent(0);
                _state = RolloutState.Paused;
                StartStep(0);
                _waiting = "declared to start paused: resume it to begin";
                Add(RolloutEventKind.Started, 0, 0, $"paused before the first step ({config.Steps[0]}%), as declared");
                LogStartedPaused(_route, config.Canary);
            }
            else
            {
                _state = RolloutState.Progressing;
                Add(RolloutEventKind.Started, 0, config.Steps[0], $"step 1 of {config.Steps.Count}");
                LogStarted(_route, config.Canary, config.Steps[0]);
                EnterStep(1);
            }
            if (!IsOver)
            {
                _timer = timeProvider.CreateTimer(static state => ((RolloutController)state!).Evaluate(), this, EvaluationPeriod, EvaluationPeriod);
            }
        }
    }

    /// <summary>Where the rollout stands.</summary>
    public RolloutState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>Steps promoted so far (a metric).</summary>
    public long Promotions => Interlocked.Read(ref _promotions);

    /// <summary>Rollbacks so far (a metric).</summary>
    public long Rollbacks => Interlocked.Read(ref _rollbacks);

    /// <summary>The canary's share of the traffic now, in per cent (a metric).</summary>
    public uint CanaryPercent
    {
        get
        {
            lock (_lock)
            {
                return _percent;
            }
        }
    }

    private bool IsOver => _state is RolloutState.Promoted or RolloutState.RolledBack or RolloutState.Aborted;

    /// <summary>Counts one request answered by variant <paramref name="variantIndex"/>; other variants than the canary and baseline are ignored. Any thread, lock-free.</summary>
    public void Record(int variantIndex, bool succeeded, TimeSpan latency)
    {
        if (!_recording)
        {
            return;
        }
        if (variantIndex == _canaryIndex)
        {
            _canary.Record(succeeded, latency);
        }
        else if (variantIndex == _baselineIndex)
        {
            _baseline.Record(succeeded, latency);
        }
    }

    /// <summary>The rollout now, for the API.</summary>
    public RolloutStatus Status()
    {
        lock (_lock)
        {
            long? decisions = null, flips = null;
            if (_shadowDecisions is not null && !IsOver)
            {
                var (d, f) = ShadowSinceStepStart();
                (decisions, flips) = (d, f);
            }
            return new RolloutStatus
            {
                Route = _route,
                Config = _config,
                State = _state,
                Step = _step,
                CanaryPercent = _percent,
                StepStarted = _stepStartedUtc,
                StepElapsed = IsOver ? TimeSpan.Zero : _time.GetElapsedTime(_stepStartedAt),
                Waiting = IsOver ? null : _waiting,
                Canary = _canary.Snapshot(),
                Baseline = _baseline.Snapshot(),
                Decisions = decisions,
                Flips = flips,
                Promotions = _promotions,
                Rollbacks = _rollbacks,
                History = _history.ToArray(),
            };
        }
    }

    /// <summary>Holds the rollout at its step: the gates go on rolling a failing canary back but do not promote it.</summary>
    /// <exception cref="InferenceException">The rollout is not progressing (paused already, or over).</exception>
    public RolloutStatus Pause()
    {
        lock (_lock)
        {
            if (_state != RolloutState.Progressing)
            {
                throw NotNow("paused", "progressing");
            }
            _state = RolloutState.Paused;
            Add(RolloutEventKind.Paused, _percent, _percent, "by an operator");
            LogPaused(_route, _percent);
        }
        return Status();
    }

    /// <summary>Lets a paused rollout progress again (from its first step, when it was declared to start paused).</summary>
    /// <exception cref="InferenceException">The rollout is not paused.</exception>
    public RolloutStatus Resume()
    {
        lock (_lock)
        {
            if (_state != RolloutState.Paused)
            {
                throw NotNow("resumed", "paused");
            }
            _state = RolloutState.Progressing;
            var to = _step == 0 ? _config.Steps[0] : _percent;
            Add(RolloutEventKind.Resumed, _percent, to, "by an operator");
            LogResumed(_route, to);
            if (_step == 0)
            {
                EnterStep(1);
            }
        }
        return Status();
    }

    /// <summary>Moves to the next step now, whatever the gates say (a paused rollout stays paused there); the last step ends the rollout, promoted.</summary>
    /// <exception cref="InferenceException">The rollout is over.</exception>
    public RolloutStatus Promote()
    {
        lock (_lock)
        {
            if (IsOver)
            {
                throw NotNow("promoted", "progressing or paused");
            }
            Advance("by an operator");
        }
        return Status();
    }

    /// <summary>Ends the rollout: the canary takes no traffic.</summary>
    /// <exception cref="InferenceException">The rollout is over already.</exception>
    public RolloutStatus Abort()
    {
        lock (_lock)
        {
            if (IsOver)
            {
                throw NotNow("aborted", "progressing or paused");
            }
            End(RolloutState.Aborted, RolloutEventKind.Aborted, "by an operator");
            LogAborted(_route, _config.Canary);
        }
        return Status();
    }

    /// <summary>Stops the evaluation timer; the canary keeps the share it has.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
        }
        _timer?.Dispose();
    }

    // The timer's callback: judge the step so far.
    private void Evaluate()
    {
        try
        {
            lock (_lock)
            {
                if (!_disposed && !IsOver && _step > 0)
                {
                    Judge();
                }
            }
        }
        catch (Exception e)
        {
            // A timer callback that throws ends the process; the callbacks it makes are the route's, not ours.
            LogEvaluationFailed(_route, e);
        }
    }

    // Under the lock, with a step running.
    private void Judge()
    {
        var canary = _canary.Snapshot();
        if (canary.Requests < _config.MinRequests)
        {
            _waiting = string.Create(CultureInfo.InvariantCulture, $"the canary has answered {canary.Requests} of the {_config.MinRequests} requests a step needs before its gates are judged");
            return;
        }
        var baseline = _baseline.Snapshot();
        string? latencyWaiting = null, flipWaiting = null;
        var failed = ErrorGate(canary, baseline);
        failed ??= LatencyGate(canary, baseline, out latencyWaiting);
        failed ??= FlipGate(out flipWaiting);
        if (failed is not null)
        {
            End(RolloutState.RolledBack, RolloutEventKind.RolledBack, failed);
            LogRolledBack(_route, _config.Canary, failed);
            return;
        }
        var elapsed = (long)_time.GetElapsedTime(_stepStartedAt).TotalSeconds;
        _waiting = latencyWaiting ?? flipWaiting
            ?? (_state == RolloutState.Paused ? "paused by an operator: the gates may roll the canary back but not promote it"
            : elapsed < _config.MinStepSeconds ? string.Create(CultureInfo.InvariantCulture, $"the step has run {elapsed} of its {_config.MinStepSeconds} s") : null);
        if (_waiting is null)
        {
            Advance(string.Create(CultureInfo.InvariantCulture, $"gates passed over {canary.Requests} canary requests in {elapsed} s: {Figures(canary, baseline)}"));
        }
    }

    // The canary's error rate may exceed the baseline's by max_error_rate_increase. A baseline with fewer than
    // min_requests has no rate worth comparing with: the canary's own rate is then held to the increase alone.
    private string? ErrorGate(VariantWindowSnapshot canary, VariantWindowSnapshot baseline)
    {
        var judged = baseline.Requests >= _config.MinRequests;
        var baselineRate = judged ? baseline.ErrorRate : 0;
        if (canary.ErrorRate <= baselineRate + _config.MaxErrorRateIncrease)
        {
            return null;
        }
        var against = judged ? string.Create(CultureInfo.InvariantCulture, $"the baseline's {Percent(baselineRate)} ({baseline.Failures} of {baseline.Requests})") : string.Create(CultureInfo.InvariantCulture, $"0 (the baseline has only {baseline.Requests} requests)");
        return string.Create(CultureInfo.InvariantCulture, $"error rate gate: the canary's error rate {Percent(canary.ErrorRate)} ({canary.Failures} of {canary.Requests} requests) is more than {against} + {Percent(_config.MaxErrorRateIncrease)}");
    }

    // The canary's p99 over the baseline's at most max_p99_ratio. A percentile of a handful of baseline samples is
    // noise: with fewer than min_requests the gate waits (it neither fails nor lets the step be promoted).
    private string? LatencyGate(VariantWindowSnapshot canary, VariantWindowSnapshot baseline, out string? waiting)
    {
        waiting = null;
        if (baseline.LatencySamples < _config.MinRequests)
        {
            waiting = string.Create(CultureInfo.InvariantCulture, $"the baseline has {baseline.LatencySamples} of the {_config.MinRequests} successful requests its p99 latency is compared with");
            return null;
        }
        if (canary.LatencySamples == 0)
        {
            return null;
        }
        // Both at least the histogram's resolution (1 µs), so that a baseline faster than it is no division by zero.
        var ratio = Math.Max(canary.P99Ms, 0.001) / Math.Max(baseline.P99Ms, 0.001);
        return ratio <= _config.MaxP99Ratio ? null
            : string.Create(CultureInfo.InvariantCulture, $"latency gate: the canary's p99 {canary.P99Ms:0.###} ms is {ratio:0.##} times the baseline's {baseline.P99Ms:0.###} ms, more than {_config.MaxP99Ratio:0.##}");
    }

    // The share of the shadow's decisions that flipped, at most max_decision_flip_rate; judged once the step has
    // min_requests decisions, waiting until then.
    private string? FlipGate(out string? waiting)
    {
        waiting = null;
        if (_shadowDecisions is null || _config.MaxDecisionFlipRate <= 0)
        {
            return null;
        }
        var (decisions, flips) = ShadowSinceStepStart();
        if (decisions < _config.MinRequests)
        {
            waiting = string.Create(CultureInfo.InvariantCulture, $"the shadow has compared {decisions} of the {_config.MinRequests} decisions the flip gate needs");
            return null;
        }
        var rate = (double)flips / decisions;
        return rate <= _config.MaxDecisionFlipRate ? null
            : string.Create(CultureInfo.InvariantCulture, $"decision flip gate: {Percent(rate)} of the canary's decisions ({flips} of {decisions}) differ from the baseline's, more than {Percent(_config.MaxDecisionFlipRate)}");
    }

    private (long Decisions, long Flips) ShadowSinceStepStart()
    {
        var (decisions, flips) = _shadowDecisions!();
        return (decisions - _shadowAtStepStart.Decisions, flips - _shadowAtStepStart.Flips);
    }

    private string Figures(VariantWindowSnapshot canary, VariantWindowSnapshot baseline)
    {
        var figures = string.Create(CultureInfo.InvariantCulture, $"error rate {Percent(canary.ErrorRate)} vs {Percent(baseline.ErrorRate)}, p99 {canary.P99Ms:0.###} ms vs {baseline.P99Ms:0.###} ms");
        if (_shadowDecisions is not null && _config.MaxDecisionFlipRate > 0)
        {
            var (decisions, flips) = ShadowSinceStepStart();
            figures += string.Create(CultureInfo.InvariantCulture, $", {flips} flips in {decisions} decisions");
        }
        return figures;
    }

    // Under the lock: to the next step, or promoted at the last.
    private void Advance(string reason)
    {
        var next = _step + 1;
        var from = _percent;
        var to = _config.Steps[next - 1];
        if (next == _config.Steps.Count)
        {
            End(RolloutState.Promoted, RolloutEventKind.Promoted, $"{reason}; the last step: the canary takes all the traffic", to);
            LogPromotedFully(_route, _config.Canary);
            // The status then reads as the last step, the one the canary ended at.
            _step = next;
        }
        else
        {
            EnterStep(next);
            Add(RolloutEventKind.Promoted, from, to, string.Create(CultureInfo.InvariantCulture, $"to step {next} of {_config.Steps.Count}: {reason}"));
            LogPromoted(_route, _config.Canary, from, to, reason);
        }
        Interlocked.Increment(ref _promotions);
    }

    // Under the lock: the canary takes the step's share, judged afresh. The weights are set first, so that a callback
    // that throws changes nothing (the next evaluation tries again).
    private void EnterStep(int step)
    {
        var percent = _config.Steps[step - 1];
        _setCanaryPercent(percent);
        _percent = percent;
        StartStep(step);
        _waiting = null;
        if (step == _config.Steps.Count)
        {
            // Declared with the single step 100: nothing to judge.
            _state = RolloutState.Promoted;
            _recording = false;
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    private void StartStep(int step)
    {
        _step = step;
        _stepStartedAt = _time.GetTimestamp();
        _stepStartedUtc = _time.GetUtcNow();
        _canary.Reset();
        _baseline.Reset();
        _shadowAtStepStart = _shadowDecisions?.Invoke() ?? default;
    }

    // Under the lock: the rollout is over; the canary keeps all the traffic when promoted, none otherwise. The weights
    // are set first, as in EnterStep.
    private void End(RolloutState state, RolloutEventKind kind, string reason, uint percent = 0)
    {
        _setCanaryPercent(percent);
        Add(kind, _percent, percent, reason);
        _percent = percent;
        _state = state;
        _stepStartedUtc = _time.GetUtcNow();
        _waiting = null;
        _recording = false;
        if (state == RolloutState.RolledBack)
        {
            Interlocked.Increment(ref _rollbacks);
        }
        // Nothing left to judge; stopping from within the timer's own callback is allowed.
        _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    private void Add(RolloutEventKind kind, uint from, uint to, string reason)
    {
        if (_history.Count == HistoryCapacity)
        {
            _history.Dequeue();
        }
        _history.Enqueue(new RolloutEvent(_time.GetUtcNow(), kind, from, to, reason));
    }

    private InferenceException NotNow(string action, string expected) =>
        InferenceException.Invalid($"the rollout of route '{_route}' cannot be {action}: it is {Name(_state)}, and only a {expected} rollout can be");

    private static string Name(RolloutState state) => state switch
    {
        RolloutState.Progressing => "progressing",
        RolloutState.Paused => "paused",
        RolloutState.Promoted => "promoted (finished)",
        RolloutState.RolledBack => "rolled back (finished)",
        _ => "aborted (finished)",
    };

    // A share as the messages write it: 0.05 → "5%".
    private static string Percent(double share) => (share * 100).ToString("0.##", CultureInfo.InvariantCulture) + "%";

    [LoggerMessage(Level = LogLevel.Information, Message = "Route '{Route}': rolling out variant '{Canary}', first step {Percent}%")]
    private partial void LogStarted(string route, string canary, uint percent);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route '{Route}': the rollout of variant '{Canary}' is declared paused; it waits for an operator to resume it")]
    private partial void LogStartedPaused(string route, string canary);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route '{Route}': promoted variant '{Canary}' from {From}% to {To}%: {Reason}")]
    private partial void LogPromoted(string route, string canary, uint from, uint to, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route '{Route}': variant '{Canary}' is fully promoted and takes all the traffic")]
    private partial void LogPromotedFully(string route, string canary);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route '{Route}': rolled variant '{Canary}' back to 0%: {Reason}")]
    private partial void LogRolledBack(string route, string canary, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route '{Route}': rollout paused at {Percent}% by an operator")]
    private partial void LogPaused(string route, uint percent);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route '{Route}': rollout resumed at {Percent}% by an operator")]
    private partial void LogResumed(string route, uint percent);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route '{Route}': rollout of variant '{Canary}' aborted by an operator; the canary takes no traffic")]
    private partial void LogAborted(string route, string canary);

    [LoggerMessage(Level = LogLevel.Error, Message = "Route '{Route}': judging the rollout's step failed")]
    private partial void LogEvaluationFailed(string route, Exception exception);
}
