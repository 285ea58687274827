using System.Net;
using System.Text.Json;
using Grpc.Core;
using InferenceServer.LoadTest.Targets;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.LoadTest.Inputs;

/// <summary>
/// Asks the server, before any load, whether the model is there and ready, and what its inputs are — over the
/// protocol of the run, so a gRPC run needs only the gRPC port.
/// </summary>
internal static class MetadataClient
{
    /// <summary>Fetches the model's metadata; throws <see cref="TargetUnavailableException"/> when the server or model cannot be reached.</summary>
    public static async Task<ModelMetadata> FetchAsync(Uri url, string model, string? version, Protocol protocol, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            return protocol == Protocol.Grpc
                ? await FetchGrpcAsync(url, model, version, cts.Token).ConfigureAwait(false)
                : await FetchRestAsync(url, model, version, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TargetUnavailableException($"{url} did not answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            throw new TargetUnavailableException($"cannot reach {url}: {e.GetBaseException().Message}");
        }
    }

    /// <summary>
    /// Asks only whether the server is live (REST <c>GET /v2/health/live</c>, gRPC <c>ServerLive</c>): for runs over many
    /// models, which an on-demand server has not loaded yet. Throws <see cref="TargetUnavailableException"/> when it is not.
    /// </summary>
    public static async Task CheckLiveAsync(Uri url, Protocol protocol, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            if (protocol == Protocol.Grpc)
            {
                using var channel = GrpcChannels.Create(url, TimeSpan.FromSeconds(10));
                var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
                bool live;
                try
                {
                    live = (await client.ServerLiveAsync(new ServerLiveRequest(), cancellationToken: cts.Token).ConfigureAwait(false)).Live;
                }
                catch (RpcException e)
                {
                    throw Unavailable(url, e, "ServerLive");
                }
                if (!live)
                {
                    throw new TargetUnavailableException($"{url} is not live (gRPC ServerLive: false)");
                }
                return;
            }
            using var http = new HttpClient(HttpHandlers.Create(1, TimeSpan.FromSeconds(10)));
            using var response = await http.GetAsync(new Uri(RestTarget.WithTrailingSlash(url), "v2/health/live"), cts.Token).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new TargetUnavailableException($"{url} is not live (GET /v2/health/live answered {(int)response.StatusCode})");
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TargetUnavailableException($"{url} did not answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            throw new TargetUnavailableException($"cannot reach {url}: {e.GetBaseException().Message}");
        }
    }

    private static async Task<ModelMetadata> FetchRestAsync(Uri url, string model, string? version, CancellationToken cancellationToken)
    {
        using var client = new HttpClient(HttpHandlers.Create(1, TimeSpan.FromSeconds(10)));
        var path = "v2/models/" + Uri.EscapeDataString(model) + (version is null ? "" : "/versions/" + Uri.EscapeDataString(version));
        using var response = await client.GetAsync(new Uri(RestTarget.WithTrailingSlash(url), path), cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new TargetUnavailableException($"GET /{path} answered {(int)response.StatusCode}: {Truncate(body)}");
        }
        using var ready = await client.GetAsync(new Uri(RestTarget.WithTrailingSlash(url), path + "/ready"), cancellationToken).ConfigureAwait(false);
        if (ready.StatusCode != HttpStatusCode.OK)
        {
            throw new TargetUnavailableException($"model '{model}' is not ready (GET /{path}/ready answered {(int)ready.StatusCode})");
        }
        try
        {
            return ParseRest(body);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new TargetUnavailableException($"GET /{path} answered with metadata this tool cannot read: {e.Message}");
        }
    }

    /// <summary>Reads the v2 model metadata JSON.</summary>
    public static ModelMetadata ParseRest(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var versions = new List<string>();
        if (root.TryGetProperty("versions", out var versionsElement))
        {
            foreach (var v in versionsElement.EnumerateArray())
            {
                versions.Add(v.GetString() ?? "");
            }
        }
        return new ModelMetadata(
            root.GetProperty("name").GetString() ?? "",
            versions,
            root.TryGetProperty("platform", out var platform) ? platform.GetString() ?? "" : "",
            Tensors(root, "inputs"),
            Tensors(root, "outputs"));
    }

    private static List<TensorMetadata> Tensors(JsonElement root, string property)
    {
        var tensors = new List<TensorMetadata>();
        if (root.TryGetProperty(property, out var array))
        {
            foreach (var t in array.EnumerateArray())
            {
                var shape = new List<long>();
                foreach (var d in t.GetProperty("shape").EnumerateArray())
                {
                    shape.Add(d.GetInt64());
                }
                tensors.Add(new TensorMetadata(t.GetProperty("name").GetString() ?? "", t.GetProperty("datatype").GetString() ?? "", [.. shape]));
            }
        }
        return tensors;
    }

    private static async Task<ModelMetadata> FetchGrpcAsync(Uri url, string model, string? version, CancellationToken cancellationToken)
    {
        using var channel = GrpcChannels.Create(url, TimeSpan.FromSeconds(10));
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        ModelMetadataResponse response;
        try
        {
            response = await client.ModelMetadataAsync(new ModelMetadataRequest { Name = model, Version = version ?? "" }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw Unavailable(url, e, $"ModelMetadata for '{model}'");
        }
        bool ready;
        try
        {
            ready = (await client.ModelReadyAsync(new ModelReadyRequest { Name = model, Version = version ?? "" }, cancellationToken: cancellationToken).ConfigureAwait(false)).Ready;
        }
        catch (RpcException e)
        {
            throw Unavailable(url, e, $"ModelReady for '{model}'");
        }
        if (!ready)
        {
            throw new TargetUnavailableException($"model '{model}' is not ready (gRPC ModelReady: false)");
        }
        static List<TensorMetadata> Convert(IEnumerable<ModelMetadataResponse.Types.TensorMetadata> tensors) =>
            [.. tensors.Select(t => new TensorMetadata(t.Name, t.Datatype, [.. t.Shape]))];
        return new ModelMetadata(response.Name, [.. response.Versions], response.Platform, Convert(response.Inputs), Convert(response.Outputs));
    }

    // A call that got no gRPC answer at all could not reach the server; one that did says what the server answered.
    private static TargetUnavailableException Unavailable(Uri url, RpcException e, string what) =>
        e.Status.DebugException is { } transport
            ? new TargetUnavailableException($"cannot reach {url}: {transport.GetBaseException().Message}")
            : new TargetUnavailableException($"{what} answered {ErrorKey.Grpc(e.StatusCode)}: {e.Status.Detail}");

    private static string Truncate(string text) => text.Length > 200 ? text[..200] + "…" : text;
}
