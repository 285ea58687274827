using InferenceServer.LoadTest.Histograms;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Load;

/// <summary>
/// Runs one plan against a target: warm-up, then the measured window, open or closed loop, sampling a time series
/// as it goes. Every clock read goes through the injected <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>
/// Latency is taken from a request's intended start: its scheduled time in open loop (so queueing in the server, or
/// a generator that fell behind, shows in the figures instead of being hidden by coordinated omission), the moment a
/// worker is free in closed loop. A request belongs to the phase its intended start falls in, whenever it ends.
/// </remarks>
internal sealed class LoadRunner(TimeProvider time)
{
    /// <summary>Runs <paramref name="plan"/>; <paramref name="cancellationToken"/> ends it early (what was measured is kept).</summary>
    /// <param name="plan">What to run.</param>
    /// <param name="target">Where the requests go.</param>
    /// <param name="progress">Called with each time-series sample, for a live display.</param>
    /// <param name="cancellationToken">Ends the run early.</param>
    /// <param name="modelNames">The models of a multi-model plan, by index, for the summary's per-model counts.</param>
    public async Task<RunSummary> RunAsync(RunPlan plan, IInferenceTarget target, Action<ProgressSnapshot>? progress, CancellationToken cancellationToken,
        IReadOnlyList<string>? modelNames = null)
    {
        var names = modelNames ?? [];
        var models = plan.Models?.Count ?? 1;
        using var warmup = new Measurement(plan.LateThreshold, models);
        using var main = new Measurement(plan.LateThreshold, models);
        var state = new RunState(time, plan, target, warmup, main, progress);
        using var stopSampling = new CancellationTokenSource();
        using var samplerClock = new ClockWaiter(time);
        var sampler = state.SampleAsync(samplerClock, stopSampling.Token);
        try
        {
            if (plan.Mode == LoadMode.Open)
            {
                await state.RunOpenAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await state.RunClosedAsync(cancellationToken).ConfigureAwait(false);
            }
            if (cancellationToken.IsCancellationRequested)
            {
                state.Interrupt();
            }
            await state.DrainAsync().ConfigureAwait(false);
        }
        finally
        {
            // Cancel, not CancelAsync: the sampler must stop before the last sample is taken.
            stopSampling.Cancel();
            await sampler.ConfigureAwait(false);
        }
        state.TakeSample(time.GetTimestamp(), final: true);
        return state.Summarize(cancellationToken.IsCancellationRequested, names);
    }

    private sealed class RunState
    {
        private readonly TimeProvider _time;
        private readonly RunPlan _plan;
        private readonly IInferenceTarget _target;
        private readonly Measurement _warmup;
        private readonly Measurement _main;
        private readonly Action<ProgressSnapshot>? _progress;
        private readonly LoadProfile _profile;
        private readonly long _start;
        private readonly long _measureStart;
        private readonly long _end;
        private readonly double _frequency;
        private readonly Lock _slotLock = new();
        private readonly InlineSignal _slotFreed = new();
        private int _slotsInUse;
        private bool _waitingForSlot;
        private readonly List<TimeSample> _samples = [];
        private readonly LatencyHistogram _interval = new();
        // Completed by the last request to finish; the run continues on that thread (see InlineSignal for why).
        private readonly TaskCompletionSource _drained = new();
        private long _inFlight = 1; // the driver holds one until it finishes, so the count reaches 0 only at the end
        private long _windowEnd;
        private long _lastSample;
        private long _totalSuccesses;
        private long _totalErrors;

        public RunState(TimeProvider time, RunPlan plan, IInferenceTarget target, Measurement warmup, Measurement main, Action<ProgressSnapshot>? progress)
        {
            _time = time;
            _plan = plan;
            _target = target;
            _warmup = warmup;
            _main = main;
            _progress = progress;
            _profile = plan.FullProfile;
            _frequency = time.TimestampFrequency;
            _start = time.GetTimestamp();
            _measureStart = _start + Timestamps(plan.Warmup.TotalSeconds);
            _end = _start + Timestamps(_profile.Duration.TotalSeconds);
            _windowEnd = _end;
            _lastSample = _start;
        }

        /// <summary>Ends the measured window now (Ctrl+C), so throughput divides by the time actually measured.</summary>
        public void Interrupt() => Interlocked.Exchange(ref _windowEnd, Math.Clamp(_time.GetTimestamp(), _measureStart, _end));

        public async Task RunOpenAsync(CancellationToken cancellationToken)
        {
            var schedule = new ArrivalSchedule(_profile, _plan.Arrival, _plan.Seed);
            var driver = new OpenLoopDriver(_time, _plan.SpinWindow);
            await driver.RunAsync(schedule, _start, DispatchAsync, cancellationToken).ConfigureAwait(false);
        }

        public async Task RunClosedAsync(CancellationToken cancellationToken)
        {
            var workers = Math.Max(1, (int)Math.Ceiling(_profile.MaxLevel - 1e-9));
            var tasks = new Task[workers];
            for (var w = 0; w < workers; w++)
            {
                // Each worker runs here until its first request is under way, then on whichever thread completes it.
                tasks[w] = WorkAsync(w, workers, cancellationToken);
            }
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }

        public Task DrainAsync()
        {
            if (Interlocked.Decrement(ref _inFlight) == 0)
            {
                _drained.TrySetResult();
            }
            return _drained.Task;
        }

        private ValueTask DispatchAsync(long sequence, long intended, long now)
        {
            lock (_slotLock)
            {
                if (_slotsInUse >= _plan.MaxInFlight)
                {
                    _waitingForSlot = true;
                    return DispatchAfterSlotAsync(sequence, intended, _slotFreed.Arm());
                }
                _slotsInUse++;
            }
            Start(sequence, intended, now);
            return default;
        }

        private async ValueTask DispatchAfterSlotAsync(long sequence, long intended, ValueTask slotFreed)
        {
            // The request that frees a slot hands it over to this one, which starts late by the wait.
            await slotFreed.ConfigureAwait(false);
            Start(sequence, intended, _time.GetTimestamp());
        }

        private void ReleaseSlot()
        {
            lock (_slotLock)
            {
                if (!_waitingForSlot)
                {
                    _slotsInUse--;
                    return;
                }
                _waitingForSlot = false;
            }
            _slotFreed.Set();
        }

        private void Start(long sequence, long intended, long now)
        {
            var measurement = intended < _measureStart ? _warmup : _main;
            var model = PickModel(sequence);
            measurement.RecordStart(Nanoseconds(now - intended), openLoop: true, model);
            Interlocked.Increment(ref _inFlight);
            var request = new Request(model, (int)(sequence % _target.InputCount));
            if (_plan.DispatchOnThreadPool)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static s => _ = s.Self.ExecuteOpenAsync(s.Measurement, s.Intended, s.Request), (Self: this, Measurement: measurement, Intended: intended, Request: request), preferLocal: false);
            }
            else
            {
                _ = ExecuteOpenAsync(measurement, intended, request);
            }
        }

        private int PickModel(long sequence) => _plan.Models?.Pick(sequence) ?? 0;

        private async Task ExecuteOpenAsync(Measurement measurement, long intended, Request request)
        {
            try
            {
                await ExecuteAsync(measurement, intended, request).ConfigureAwait(false);
            }
            finally
            {
                ReleaseSlot();
                Finished();
            }
        }

        private async Task WorkAsync(int worker, int workers, CancellationToken cancellationToken)
        {
            ClockWaiter? parking = null;
            try
            {
                long sequence = worker;
                while (!cancellationToken.IsCancellationRequested)
                {
                    var now = _time.GetTimestamp();
                    if (now >= _end)
                    {
                        return;
                    }
                    var level = _profile.LevelAt((now - _start) / _frequency);
                    if (worker >= Math.Ceiling(level - 1e-9))
                    {
                        // Not needed at this point of the ramp: look again shortly.
                        parking ??= new ClockWaiter(_time);
                        try
                        {
                            await parking.WaitAsync(TimeSpan.FromSeconds(Math.Min(0.01, (_end - now) / _frequency)), cancellationToken).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                            return;
                        }
                        continue;
                    }
                    var measurement = now < _measureStart ? _warmup : _main;
                    var model = PickModel(sequence);
                    measurement.RecordStart(0, openLoop: false, model);
                    Interlocked.Increment(ref _inFlight);
                    try
                    {
                        await ExecuteAsync(measurement, now, new Request(model, (int)(sequence % _target.InputCount))).ConfigureAwait(false);
                    }
                    finally
                    {
                        Finished();
                    }
                    sequence += workers;
                }
            }
            finally
            {
                parking?.Dispose();
            }
        }

        private async Task ExecuteAsync(Measurement measurement, long intended, Request request)
        {
            using var timeout = new CancellationTokenSource(_plan.Timeout, _time);
            try
            {
                var outcome = await _target.SendAsync(request.Model, request.Input, timeout.Token).ConfigureAwait(false);
                var end = _time.GetTimestamp();
                if (outcome.Success)
                {
                    measurement.RecordSuccess(Nanoseconds(end - intended), outcome.ColdStartMs, request.Model);
                    if (end >= _measureStart && end < _windowEnd)
                    {
                        _main.RecordWindowSuccess();
                    }
                }
                else
                {
                    measurement.RecordError(outcome.Error, outcome.Detail, request.Model);
                }
            }
            catch (Exception e)
            {
                var kind = ErrorClassifier.Classify(e, timeout.IsCancellationRequested);
                measurement.RecordError(kind, kind == ErrorKey.Timeout ? $"no response within {_plan.Timeout.TotalSeconds:0.###} s" : e.GetBaseException().Message, request.Model);
            }
        }

        private void Finished()
        {
            if (Interlocked.Decrement(ref _inFlight) == 0)
            {
                _drained.TrySetResult();
            }
        }

        public async Task SampleAsync(ClockWaiter clock, CancellationToken cancellationToken)
        {
            var interval = Timestamps(_plan.SampleInterval.TotalSeconds);
            var next = _start + interval;
            try
            {
                while (true)
                {
                    var wait = TimeSpan.FromSeconds((next - _time.GetTimestamp()) / _frequency);
                    await clock.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
                    TakeSample(next);
                    next += interval;
                }
            }
            catch (OperationCanceledException)
            {
                // The run is over; the caller takes the last, partial sample.
            }
        }

        /// <summary>
        /// Turns what every shard gained since the last sample into one interval of the time series. The last call
        /// (<paramref name="final"/>) covers the drain after the load stopped; when that is shorter than half an
        /// interval it is folded into the previous sample, whose histogram is still at hand, rather than plotted as a
        /// sliver whose rates mean nothing.
        /// </summary>
        public void TakeSample(long now, bool final = false)
        {
            var intervalSeconds = (now - _lastSample) / _frequency;
            if (intervalSeconds <= 0)
            {
                return;
            }
            var fold = final && _samples.Count > 0 && intervalSeconds < _plan.SampleInterval.TotalSeconds / 2;
            TimeSample? previous = null;
            if (fold)
            {
                previous = _samples[^1];
                _samples.RemoveAt(_samples.Count - 1);
                intervalSeconds += previous.IntervalSeconds;
            }
            else
            {
                _interval.Reset();
            }
            long sent = previous?.Sent ?? 0, errors = 0;
            foreach (var measurement in (ReadOnlySpan<Measurement>)[_warmup, _main])
            {
                foreach (var shard in measurement.Shards)
                {
                    shard.Latency.AddIntervalTo(_interval);
                    var shardSent = Volatile.Read(ref shard.Sent);
                    sent += shardSent - shard.SeenSent;
                    shard.SeenSent = shardSent;
                    var shardErrors = Volatile.Read(ref shard.Errors);
                    errors += shardErrors - shard.SeenErrors;
                    shard.SeenErrors = shardErrors;
                }
            }
            _lastSample = now;
            var successes = _interval.Count;
            _totalSuccesses += successes - (previous?.Successes ?? 0);
            _totalErrors += errors;
            errors += previous?.Errors ?? 0;
            var seconds = (now - _measureStart) / _frequency;
            var elapsed = (now - _start) / _frequency;
            var sample = new TimeSample(
                Seconds: seconds,
                Warmup: seconds - (intervalSeconds / 2) < 0,
                IntervalSeconds: intervalSeconds,
                Successes: successes,
                Errors: errors,
                Sent: sent,
                Throughput: successes / intervalSeconds,
                SendRate: sent / intervalSeconds,
                P50Ms: _interval.ValueAtPercentile(50) / 1e6,
                P90Ms: _interval.ValueAtPercentile(90) / 1e6,
                P99Ms: _interval.ValueAtPercentile(99) / 1e6,
                MaxMs: _interval.Max / 1e6,
                InFlight: Math.Max(0, Interlocked.Read(ref _inFlight) - 1),
                TargetLevel: _profile.LevelAt(Math.Max(0, elapsed - (intervalSeconds / 2))));
            _samples.Add(sample);
            if (_progress is not null && !final)
            {
                long late = 0;
                foreach (var shard in _main.Shards)
                {
                    late += Volatile.Read(ref shard.Late);
                }
                _progress(new ProgressSnapshot(_plan.Mode, Math.Min(elapsed, _profile.Duration.TotalSeconds), _profile.Duration.TotalSeconds, now < _measureStart,
                    _profile.LevelAt(Math.Min(elapsed, _profile.Duration.TotalSeconds)), sample.SendRate, sample.Throughput, sample.P99Ms,
                    _totalSuccesses, _totalErrors, late, sample.InFlight));
            }
        }

        public RunSummary Summarize(bool interrupted, IReadOnlyList<string> names)
        {
            var (latency, lateness, sent, late, errors, windowSuccesses) = _main.Merge();
            var (warm, cold) = _main.MergeWarmCold();
            var seconds = Math.Max(0, (_windowEnd - _measureStart) / _frequency);
            return new RunSummary
            {
                Mode = _plan.Mode,
                Latency = latency,
                Warm = warm,
                Cold = cold,
                PerModel = _main.ModelCounts(names),
                Lateness = lateness,
                Sent = sent,
                Errors = errors,
                Late = late,
                WindowSuccesses = windowSuccesses,
                ErrorsByKind = _main.ErrorCounts(),
                Seconds = seconds,
                TimeSeries = _samples,
                WarmupRequests = _warmup.Merge().Sent,
                IntendedRate = _plan.Mode == LoadMode.Open && _plan.Profile.Duration > TimeSpan.Zero ? _plan.Profile.TotalArea / _plan.Profile.Duration.TotalSeconds : null,
                LateThreshold = _plan.LateThreshold,
                Interrupted = interrupted,
            };
        }

        private long Timestamps(double seconds) => (long)Math.Round(seconds * _frequency);

        // Which model and which prepared input one request sends.
        private readonly record struct Request(int Model, int Input);

        private long Nanoseconds(long timestamps) => (long)(timestamps * (1e9 / _frequency));
    }
}
