using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Tests.TestDoubles;

/// <summary>
/// A target whose requests end when the test moves a <see cref="ManualTimeProvider"/> past their service time. The
/// script decides per input what a request does: answer after a delay, fail, throw, or never answer. The test
/// drives everything with <see cref="DriveAsync{T}"/>.
/// </summary>
internal sealed class ScriptedTarget(ManualTimeProvider clock, int inputs, Func<int, ScriptedTarget.Step> script) : IInferenceTarget
{
    private readonly Lock _lock = new();
    private readonly List<Pending> _pending = [];

    /// <summary>What one request does.</summary>
    internal sealed record Step(TimeSpan ServiceTime, RequestOutcome Outcome, Exception? Throw = null, bool Hang = false)
    {
        public static Step Ok(double milliseconds) => new(TimeSpan.FromMilliseconds(milliseconds), RequestOutcome.Ok);
    }

    public int InputCount => inputs;

    /// <summary>How many models requests may go to (a multi-model plan picks among them); 1 unless the test says.</summary>
    public int ModelCount { get; init; } = 1;

    public int Sent { get; private set; }

    /// <summary>How many requests went to each model, by index.</summary>
    public int[] SentPerModel => [.. Enumerable.Range(0, ModelCount).Select(m => _perModel.GetValueOrDefault(m))];

    /// <summary>What a request to a model does, where the test scripts by model (else <c>script</c> by input decides).</summary>
    public Func<int, Step>? ModelScript { get; init; }

    private readonly Dictionary<int, int> _perModel = [];

    public ValueTask<RequestOutcome> SendAsync(int model, int input, CancellationToken cancellationToken)
    {
        var step = ModelScript is { } byModel ? byModel(model) : script(input);
        // Continuations run inline, on the test's thread, as a real response would run them on the thread that read it.
        var completion = new TaskCompletionSource<RequestOutcome>();
        var pending = new Pending(step.Hang ? long.MaxValue : clock.GetTimestamp() + step.ServiceTime.Ticks, step, completion);
        cancellationToken.Register(() =>
        {
            lock (_lock)
            {
                _pending.Remove(pending);
            }
            completion.TrySetCanceled(cancellationToken);
        });
        lock (_lock)
        {
            Sent++;
            _perModel[model] = _perModel.GetValueOrDefault(model) + 1;
            _pending.Add(pending);
        }
        return new ValueTask<RequestOutcome>(completion.Task);
    }

    /// <summary>
    /// Runs until <paramref name="run"/> completes, moving the clock from event to event: the next request's end or
    /// the next timer of the code under test, whichever comes first. The load loops continue inline on the thread
    /// that fires a timer or completes a request, so when a step returns, everything it set off has happened. The loop
    /// runs on the thread pool: a task continuation is only run inline on a thread without a synchronization context,
    /// and the test runner's thread has one.
    /// </summary>
    public Task<T> DriveAsync<T>(Func<Task<T>> start) => Task.Run(async () =>
    {
        // Started here, so its synchronous first steps are done before the clock first moves.
        var run = start();
        await DriveLoopAsync(run);
        return await run;
    });

    private async Task DriveLoopAsync(Task run)
    {
        while (!run.IsCompleted)
        {
            long? next;
            lock (_lock)
            {
                next = _pending.Count == 0 ? null : _pending.Min(p => p.Due);
            }
            if (clock.NextDue is { } timer && (next is null || timer < next))
            {
                next = timer;
            }
            if (next is null or long.MaxValue)
            {
                // Nothing left to wait for here: the run is finishing on another thread.
                await Task.WhenAny(run, Task.Delay(10));
                continue;
            }
            clock.AdvanceTo(next.Value);
            CompleteDue();
        }
        await run;
    }

    /// <summary>Ends every request whose service time is over.</summary>
    public void CompleteDue()
    {
        List<Pending> due;
        lock (_lock)
        {
            due = _pending.Where(p => p.Due <= clock.GetTimestamp()).ToList();
            _pending.RemoveAll(due.Contains);
        }
        foreach (var p in due)
        {
            if (p.Step.Throw is { } exception)
            {
                p.Completion.TrySetException(exception);
            }
            else
            {
                p.Completion.TrySetResult(p.Step.Outcome);
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed record Pending(long Due, Step Step, TaskCompletionSource<RequestOutcome> Completion);
}
