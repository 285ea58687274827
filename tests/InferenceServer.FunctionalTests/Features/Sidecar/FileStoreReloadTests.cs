using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using InferenceServer.Core.Features.Sidecar;

namespace InferenceServer.FunctionalTests.Features.Sidecar;

/// <summary>
/// A serving sidecar on the embedded store (<c>file:PATH</c>) picks up what a <c>materialize</c> beside it wrote, by
/// itself, while a client keeps looking up on the same connection: every answer is the old load or the new one, never
/// a mix; a damaged file is logged and counted and the last good load keeps serving.
/// </summary>
public sealed partial class FileStoreReloadTests : IDisposable
{
    private static readonly string[] Fields = ["age", "workclass", "hours-per-week"];
    private static readonly string[] Keys = ["income:1", "income:2", "income:3"];

    private readonly string _folder = Directory.CreateTempSubdirectory("file-reload-").FullName;

    private string StorePath => Path.Combine(_folder, "store", "features.msgpack");

    private async Task MaterializeAsync(string version)
    {
        var csv = Path.Combine(_folder, $"{version}.csv");
        // Every value of every entity names the load, so an answer that mixes two loads shows.
        File.WriteAllText(csv, $"id,age,workclass,hours-per-week\n1,{version},{version},{version}\n2,{version},{version},{version}\n3,{version},{version},{version}\n");
        var (exitCode, process) = await SidecarProcess.RunAsync(
            "materialize", "--view", "income", "--from", csv, "--store", "file:" + StorePath, "--key-pattern", "income:{id}", "--fields", string.Join(',', Fields));
        using var _ = process;
        Assert.True(exitCode == 0, string.Join(" | ", process.Error));
    }

    // The one load every value of the answer comes from.
    private static string Load(LookupAnswer answer)
    {
        Assert.True(answer.Status == SidecarStatus.Ok, answer.Message);
        var load = answer.Rows[0].Values[0]!;
        Assert.All(answer.Rows, row => Assert.All(row.Values, value => Assert.Equal(load, value)));
        return load;
    }

    [Fact]
    public async Task AMaterializeBesideTheSidecarIsServedByItselfWithoutMixingLoadsOrDroppingTheConnection()
    {
        await MaterializeAsync("v1");
        var metricsPort = FreePort();
        using var sidecar = await SidecarProcess.ServeAsync(Path.Combine(_folder, "sidecar.sock"), "file:" + StorePath,
            "--metrics-port", metricsPort.ToString(CultureInfo.InvariantCulture));
        await using var client = await WireClient.ConnectAsync(Path.Combine(_folder, "sidecar.sock"));
        uint id = 0;
        Assert.Equal("v1", Load(await client.LookupAsync(++id, Fields, Keys)));

        // Lookups run on the one connection all through the new load and its reload.
        using var stop = new CancellationTokenSource();
        var seen = new List<string>();
        var looking = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var load = Load(await client.LookupAsync(++id, Fields, Keys));
                lock (seen)
                {
                    seen.Add(load);
                }
            }
        });
        await MaterializeAsync("v2");
        var clock = Stopwatch.StartNew();
        bool Served()
        {
            lock (seen)
            {
                return seen.Count > 0 && seen[^1] == "v2";
            }
        }
        while (!looking.IsCompleted && !Served())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the sidecar did not serve the new load within 30 s");
            await Task.Delay(20);
        }
        await stop.CancelAsync();
        await looking;

        // Old, then new, and never back.
        var switched = seen.IndexOf("v2");
        Assert.True(switched >= 0, string.Join(",", seen));
        Assert.All(seen[..switched], load => Assert.Equal("v1", load));
        Assert.All(seen[switched..], load => Assert.Equal("v2", load));
        await sidecar.WaitForOutputAsync(Reloaded());

        // A file that cannot be loaded: logged, counted, and the last good load keeps serving.
        var damaged = Path.Combine(_folder, "damaged.tmp");
        File.WriteAllBytes(damaged, [0x93, 0xa3, 0x61, 0x62]);
        File.Move(damaged, StorePath, overwrite: true);
        var refused = await sidecar.WaitForOutputAsync(ReloadFailed());
        Assert.Contains($"the store file {StorePath} is damaged", refused, StringComparison.Ordinal);
        Assert.Contains("still serving the 3 entities loaded before", refused, StringComparison.Ordinal);
        Assert.Equal("v2", Load(await client.LookupAsync(++id, Fields, Keys)));

        using var http = new HttpClient();
        var metrics = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
        Assert.Contains("feature_sidecar_store_reloads_total{result=\"ok\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("feature_sidecar_store_reloads_total{result=\"failed\"} 1", metrics, StringComparison.Ordinal);
        Assert.False(sidecar.HasExited);
    }

    [GeneratedRegex(@"reloaded the store file .+: 3 entities")]
    private static partial Regex Reloaded();

    [GeneratedRegex("could not reload the store file")]
    private static partial Regex ReloadFailed();

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
