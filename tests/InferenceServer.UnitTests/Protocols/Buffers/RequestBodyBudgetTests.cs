using InferenceServer.Protocols.Buffers;

namespace InferenceServer.UnitTests.Protocols.Buffers;

/// <summary>The server-wide budget of request-body bytes: room is taken and given back, a request without room waits its turn, then is refused.</summary>
public sealed class RequestBodyBudgetTests
{
    private const int KiB = 1024;

    [Fact]
    public async Task Room_is_taken_and_given_back()
    {
        using var budget = new RequestBodyBudget(100 * KiB, TimeSpan.FromSeconds(1), new ManualTimeProvider());

        using (var lease = await budget.ReserveAsync(60 * KiB, CancellationToken.None))
        {
            Assert.NotNull(lease);
            Assert.Equal(60 * KiB, budget.ReservedBytes);
            Assert.Null(budget.TryReserve(50 * KiB));
        }

        Assert.Equal(0, budget.ReservedBytes);
        Assert.NotNull(budget.TryReserve(100 * KiB));
    }

    [Fact]
    public async Task A_request_without_room_waits_and_gets_the_room_given_back_meanwhile()
    {
        var clock = new ManualTimeProvider();
        using var budget = new RequestBodyBudget(100 * KiB, TimeSpan.FromSeconds(1), clock);
        var first = budget.TryReserve(80 * KiB);

        var waiting = budget.ReserveAsync(50 * KiB, CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        first!.Dispose();

        using var lease = await waiting;
        Assert.NotNull(lease);
        Assert.Equal(50 * KiB, budget.ReservedBytes);
    }

    [Fact]
    public async Task A_request_without_room_is_refused_once_its_wait_is_over_and_takes_nothing()
    {
        var clock = new ManualTimeProvider();
        using var budget = new RequestBodyBudget(100 * KiB, TimeSpan.FromSeconds(1), clock);
        using var first = budget.TryReserve(80 * KiB);

        var waiting = budget.ReserveAsync(50 * KiB, CancellationToken.None);
        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(waiting.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Null(await waiting);
        Assert.Equal(80 * KiB, budget.ReservedBytes);
    }

    [Fact]
    public async Task A_reservation_larger_than_the_budget_takes_the_whole_budget()
    {
        using var budget = new RequestBodyBudget(100 * KiB, TimeSpan.Zero, new ManualTimeProvider());

        using var lease = await budget.ReserveAsync(1024 * KiB, CancellationToken.None);

        Assert.NotNull(lease);
        Assert.Equal(100 * KiB, budget.ReservedBytes);
        Assert.Null(await budget.ReserveAsync(1, CancellationToken.None));
    }
}
