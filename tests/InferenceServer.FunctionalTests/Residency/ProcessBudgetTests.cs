using System.Net;
using System.Runtime.InteropServices;
using static InferenceServer.FunctionalTests.Residency.Residency;

namespace InferenceServer.FunctionalTests.Residency;

/// <summary>
/// <c>--model-memory-budget-counts process</c> against a real server: memory the server holds that is no model's (here
/// a block this test allocates in the server's process, standing in for the GC heap and arenas that traffic grows) takes
/// room from the models. Between loads it evicts the idle unpinned models; a load that cannot fit beside it is refused,
/// naming the server's share; once it is given back, models load again. The models declare 20 MB each, so what they are
/// charged does not depend on this machine's allocator; the block is far larger than the budget, so the process's other
/// movements cannot decide the outcome.
/// </summary>
[Collection(ProcessMemoryCollection.Name)]
public sealed class ProcessBudgetTests
{
    private const long ModelBytes = 20_000_000;
    private const long Budget = 100_000_000;
    private const long Block = 512L * 1024 * 1024;

    [Fact]
    public async Task The_servers_own_memory_evicts_idle_models_and_refuses_a_load_until_it_is_given_back()
    {
        using var repository = new TestRepository()
            .AddFixture("pinned", "add_sub.onnx", Config(pinned: true, footprint: ModelBytes))
            .AddFixture("b", "add_sub.onnx", Config(footprint: ModelBytes))
            .AddFixture("c", "add_sub.onnx", Config(footprint: ModelBytes));
        // The server takes the process's memory as its empty state at its first load. This process has run the whole
        // suite before this test: a heap that one compacting collection would shrink by hundreds of MiB (the server
        // runs one before it evicts for its own memory) would hide the block below. Compacted first, it cannot.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        await using var server = await RunningServer.StartAsync(repository.Path,
            [.. OnDemand(Budget), ("Server:ModelMemoryBudgetCounts", "process")]);

        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "pinned")).Status);
        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "b")).Status);
        Assert.Equal("b,pinned", await LoadedAsync(server.Client));

        var block = Touched(Block);
        try
        {
            // The check between loads (every 250 ms) sees the process over the budget and evicts b, the one idle unpinned model.
            var loaded = await WaitForLoadedAsync(server.Client, "pinned");
            Assert.Equal("pinned", loaded);
            Assert.Contains("evicted", (await VersionRowsAsync(server.Client))["b"]["reason"]!.GetValue<string>());
            var metrics = await server.MetricsClient.GetStringAsync("/metrics");
            Assert.Contains("nv_model_eviction_count 1", metrics);

            // Beside the server's own memory, c cannot fit even with every unpinned model gone; the reason says why.
            var (status, _, error, _) = await InferAsync(server.Client, "c");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Contains("--model-memory-budget of 100000000 bytes", error);
            Assert.Contains("--model-memory-budget-counts process", error);
            Assert.Contains("is the server's own memory above its empty state", error);
            Assert.Equal("pinned", await LoadedAsync(server.Client));
        }
        finally
        {
            Marshal.FreeHGlobal(block);
        }

        // The block is given back: c loads through the repository API, and the pinned model served throughout.
        var (loadStatus, loadError) = await Lifecycle.Lifecycle.RepositoryAsync(server.Client, "/v2/repository/models/c/load");
        Assert.True(loadStatus == HttpStatusCode.OK, loadError);
        Assert.Equal("c,pinned", await LoadedAsync(server.Client));
        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "pinned")).Status);
    }

    // Polls the index until only `expected` is loaded, for up to a minute (a loaded machine may be slow to run the check); returns what was loaded last.
    private static async Task<string> WaitForLoadedAsync(HttpClient client, string expected)
    {
        var loaded = await LoadedAsync(client);
        for (var deadline = DateTime.UtcNow.AddMinutes(1); loaded != expected && DateTime.UtcNow < deadline;)
        {
            await Task.Delay(100);
            loaded = await LoadedAsync(client);
        }
        return loaded;
    }

    // Allocates bytes with the C allocator and writes a byte in every page, so that all of it is resident.
    private static nint Touched(long bytes)
    {
        var block = Marshal.AllocHGlobal((nint)bytes);
        for (long offset = 0; offset < bytes; offset += 4096)
        {
            Marshal.WriteByte(block, (int)offset, 1);
        }
        return block;
    }
}
