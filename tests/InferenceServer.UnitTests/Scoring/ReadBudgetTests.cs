using InferenceServer.Core.Scoring;

namespace InferenceServer.UnitTests.Scoring;

/// <summary>
/// The read budget that admits splits by what they hold decoded: requests beside each other never hold more than the
/// budget, one larger than the budget is admitted only alone, and admission is first come, first served (the
/// pipeline's oldest lane must never wait on a younger one).
/// </summary>
public sealed class ReadBudgetTests
{
    [Fact]
    public async Task RequestsHeldTogetherNeverExceedTheBudget()
    {
        const long Budget = 100;
        var budget = new ReadBudget(Budget);
        long held = 0;
        long most = 0;
        var random = new Random(7);
        var requests = Enumerable.Range(0, 300).Select(_ => (long)random.Next(0, 101)).ToArray();
        await Task.WhenAll(requests.Select(bytes => Task.Run(async () =>
        {
            await budget.AcquireAsync(bytes, CancellationToken.None);
            var now = Interlocked.Add(ref held, bytes);
            InterlockedMax(ref most, now);
            await Task.Yield();
            Interlocked.Add(ref held, -bytes);
            budget.Release(bytes);
        })));
        Assert.InRange(most, 1, Budget);
        Assert.InRange(budget.PeakHeld, most, Budget);
        Assert.Equal(0, held);
        // Everything was given back: the whole budget is free again.
        Assert.True(budget.AcquireAsync(Budget, CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task ARequestOverTheBudgetIsAdmittedAloneAndNobodyJumpsTheQueue()
    {
        var budget = new ReadBudget(100);
        await budget.AcquireAsync(30, CancellationToken.None);
        var big = budget.AcquireAsync(150, CancellationToken.None);
        var small = budget.AcquireAsync(10, CancellationToken.None);
        Assert.False(big.IsCompleted, "a request over the budget waits while anything is held");
        Assert.False(small.IsCompleted, "a request that would fit waits behind an earlier one");

        budget.Release(30);
        await big;
        Assert.False(small.IsCompleted, "nothing is admitted beside a request over the budget");
        Assert.Equal(150, budget.PeakHeld);

        budget.Release(150);
        await small;
        Assert.Equal(150, budget.LargestAdmitted);
        Assert.Equal(150, budget.PeakHeld);
    }

    [Fact]
    public async Task ACancelledRequestGivesItsTurnToTheNext()
    {
        var budget = new ReadBudget(100);
        await budget.AcquireAsync(80, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = budget.AcquireAsync(50, cancel.Token);
        var next = budget.AcquireAsync(10, CancellationToken.None);
        Assert.False(next.IsCompleted);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        await next;
        Assert.Equal(90, budget.PeakHeld);
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var seen = Volatile.Read(ref target);
        while (value > seen)
        {
            var was = Interlocked.CompareExchange(ref target, value, seen);
            if (was == seen)
            {
                return;
            }
            seen = was;
        }
    }
}
