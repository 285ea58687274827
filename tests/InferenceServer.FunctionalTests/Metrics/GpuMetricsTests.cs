using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using InferenceServer.Core.Devices;
using InferenceServer.FunctionalTests.Grpc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace InferenceServer.FunctionalTests.Metrics;

/// <summary>
/// Triton's GPU metrics on a real server's metrics port, read by the reference Prometheus parser: with scripted
/// devices in place of NVML (memory and utilization the test moves between scrapes), and with this machine's own
/// reader, which finds no GPU here and must leave the families out.
/// </summary>
public sealed class GpuMetricsTests
{
    private const long GiB = 1L << 30;
    private static readonly string[] GpuFamilies = ["nv_gpu_utilization", "nv_gpu_memory_total_bytes", "nv_gpu_memory_used_bytes"];

    [Fact]
    public async Task ScriptedDevicesAreExportedPerUuidWithTritonsNamesAndReadAtEachScrape()
    {
        var gpus = new ScriptedGpuDevices(80 * GiB, 16 * GiB);
        gpus.SetUsed(0, 3 * GiB);
        gpus.SetUtilization(0, 0.25);
        using var repository = new TestRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, s => s.Replace(ServiceDescriptor.Singleton<IGpuDevices>(gpus)));
        var first = gpus.Devices[0].Uuid;
        var second = gpus.Devices[1].Uuid;

        var families = await ScrapeAsync(server);
        Assert.Equal("GPU utilization rate [0.0 - 1.0)", Family(families, "nv_gpu_utilization")["help"]!.GetValue<string>());
        Assert.Equal("GPU total memory, in bytes", Family(families, "nv_gpu_memory_total_bytes")["help"]!.GetValue<string>());
        Assert.Equal("GPU used memory, in bytes", Family(families, "nv_gpu_memory_used_bytes")["help"]!.GetValue<string>());
        Assert.Equal(new Dictionary<string, double> { [first] = 80 * GiB, [second] = 16 * GiB }, Series(families, "nv_gpu_memory_total_bytes"));
        Assert.Equal(new Dictionary<string, double> { [first] = 3 * GiB, [second] = 0 }, Series(families, "nv_gpu_memory_used_bytes"));
        Assert.Equal(new Dictionary<string, double> { [first] = 0.25, [second] = 0 }, Series(families, "nv_gpu_utilization"));

        // A model load on device 1 and a busy device 0: the next scrape reads them, nothing polls in between.
        gpus.AddUsed(1, 5 * GiB);
        gpus.SetUtilization(0, 0.75);
        families = await ScrapeAsync(server);
        Assert.Equal(new Dictionary<string, double> { [first] = 3 * GiB, [second] = 5 * GiB }, Series(families, "nv_gpu_memory_used_bytes"));
        Assert.Equal(new Dictionary<string, double> { [first] = 0.75, [second] = 0 }, Series(families, "nv_gpu_utilization"));

        // A device the driver cannot read drops out of the scrape instead of repeating its last figures; it comes back.
        gpus.SetUnreadable(1, true);
        families = await ScrapeAsync(server);
        foreach (var name in GpuFamilies)
        {
            Assert.Equal([first], Series(families, name).Keys);
        }
        gpus.SetUnreadable(1, false);
        families = await ScrapeAsync(server);
        Assert.Equal(new Dictionary<string, double> { [first] = 3 * GiB, [second] = 5 * GiB }, Series(families, "nv_gpu_memory_used_bytes"));
    }

    [Fact]
    public async Task WithoutAGpuTheServerSaysWhyOnceAndExportsNoGpuFamilies()
    {
        var log = new CapturedLog();
        using var repository = new TestRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, s => s.AddSingleton<ILoggerProvider>(log),
            ("Logging:LogLevel:InferenceServer.Hosting", "Information"));
        var families = await ScrapeAsync(server);
        var exported = families.Select(f => f!["name"]!.GetValue<string>()).Where(GpuFamilies.Contains).ToList();
        var lines = log.Entries.Where(e => e.Category.EndsWith(".NvmlGpuDevices", StringComparison.Ordinal)).Select(e => e.Message).ToList();

        if (NativeLibrary.TryLoad("libnvidia-ml.so.1", out var library))
        {
            // A machine with the driver: each GPU named once in the log, and exported.
            NativeLibrary.Free(library);
            var devices = server.Host.Services.GetRequiredService<IGpuDevices>().Devices;
            if (devices.Count > 0)
            {
                Assert.Equal(devices.Count, lines.Count(l => l.StartsWith("GPU ", StringComparison.Ordinal)));
                Assert.Equal(GpuFamilies.Order(), exported.Order());
                return;
            }
        }
        Assert.Empty(exported);
        Assert.Empty(server.Host.Services.GetRequiredService<IGpuDevices>().Devices);
        var line = Assert.Single(lines);
        Assert.StartsWith("No GPU: ", line, StringComparison.Ordinal);
    }

    private static async Task<JsonArray> ScrapeAsync(RunningServer server)
    {
        var response = await server.MetricsClient.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await PrometheusParser.ParseAsync(await response.Content.ReadAsStringAsync());
    }

    private static JsonNode Family(JsonArray families, string name)
    {
        var family = families.SingleOrDefault(f => f!["name"]!.GetValue<string>() == name);
        Assert.True(family is not null, $"no family '{name}'");
        Assert.Equal("gauge", family!["type"]!.GetValue<string>());
        return family;
    }

    // The family's samples by their one label, gpu_uuid.
    private static Dictionary<string, double> Series(JsonArray families, string name)
    {
        var series = new Dictionary<string, double>();
        foreach (var sample in Family(families, name)["samples"]!.AsArray())
        {
            var labels = sample!["labels"]!.AsObject();
            Assert.Equal(["gpu_uuid"], labels.Select(l => l.Key));
            series.Add(labels["gpu_uuid"]!.GetValue<string>(), sample["value"]!.GetValue<double>());
        }
        return series;
    }
}
