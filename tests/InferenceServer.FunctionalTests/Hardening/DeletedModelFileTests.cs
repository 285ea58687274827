using System.Net;
using System.Text.Json;
using Xunit.Abstractions;

namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>
/// The model file deleted while the model serves: the loaded version keeps serving from memory, and a reload reports
/// a clear error naming the model and what is missing, without a server path, and without unloading what serves.
/// </summary>
public sealed class DeletedModelFileTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_deleted_model_file_keeps_serving_from_memory_and_a_reload_says_why_it_failed()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", Lifecycle.Lifecycle.AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:ModelControlMode", "explicit"), ("Server:LoadModels:0", "m"));
        Assert.Equal("1", await Lifecycle.Lifecycle.InferAddSubAsync(server.Client, "m"));

        File.Delete(Path.Combine(repository.Path, "m", "1", "model.onnx"));
        Assert.Equal("1", await Lifecycle.Lifecycle.InferAddSubAsync(server.Client, "m", value: 5));

        var reload = await server.Client.PostAsync("/v2/repository/models/m/load", null);
        var body = await reload.Content.ReadAsStringAsync();
        output.WriteLine($"reload: {(int)reload.StatusCode} {body}");
        Assert.True((int)reload.StatusCode is >= 400 and < 500 or 503, $"expected a clear refusal, got {(int)reload.StatusCode}: {body}");
        var message = JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!;
        Assert.Contains("'m'", message);
        Assert.Contains("model.onnx", message);
        Assert.DoesNotContain(repository.Path, message);

        // What was loaded still serves.
        Assert.Equal("1", await Lifecycle.Lifecycle.InferAddSubAsync(server.Client, "m", value: 7));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);
    }
}
