using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using InferenceServer.LoadTest.Inputs;

namespace InferenceServer.LoadTest.Targets;

/// <summary>
/// KServe v2 REST over HTTP/1.1: a POST to <c>/v2/models/{m}[/versions/{v}]/infer</c> with a body built once per
/// distinct input (JSON, or the binary tensor extension with <c>Inference-Header-Content-Length</c>), or to
/// <c>/predict</c> with a predict body. A request ends when the whole response body has been read. With several models
/// the bodies are shared (they do not name the model) and each model has its own URL on the same connections.
/// </summary>
internal sealed class RestTarget : IInferenceTarget
{
    // Responses are read to the end and thrown away; sharing one sink among all requests is harmless because nothing
    // ever reads it, and it saves a buffer per request.
    private static readonly byte[] Sink = new byte[64 * 1024];

    private readonly HttpMessageInvoker _invoker;
    private readonly Uri[] _inferUris;
    private readonly Body[] _bodies;

    public RestTarget(Uri baseAddress, string model, string? version, Protocol protocol, IReadOnlyList<InferenceInput> inputs, int connections, TimeSpan connectTimeout)
        : this(baseAddress, [model], version, protocol, inputs, connections, connectTimeout)
    {
    }

    public RestTarget(Uri baseAddress, IReadOnlyList<string> models, string? version, Protocol protocol, IReadOnlyList<InferenceInput> inputs, int connections, TimeSpan connectTimeout)
    {
        _invoker = new HttpMessageInvoker(HttpHandlers.Create(connections, connectTimeout), disposeHandler: true);
        _inferUris = new Uri[models.Count];
        for (var m = 0; m < models.Count; m++)
        {
            _inferUris[m] = InferUri(baseAddress, models[m], version, protocol == Protocol.RestPredict ? "predict" : "infer");
        }
        _bodies = new Body[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            if (protocol == Protocol.RestPredict)
            {
                // The file's line as it is: a predict body has no tensors to convert.
                _bodies[i] = new Body(inputs[i].Json!, "application/json", null);
            }
            else if (protocol == Protocol.RestBinary)
            {
                var (body, headerLength) = RequestBodies.RestBinary(inputs[i]);
                _bodies[i] = new Body(body, "application/octet-stream", headerLength.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                _bodies[i] = new Body(RequestBodies.RestJson(inputs[i]), "application/json", null);
            }
        }
    }

    public int ModelCount => _inferUris.Length;

    public int InputCount => _bodies.Length;

    public static Uri InferUri(Uri baseAddress, string model, string? version, string action = "infer")
    {
        var path = "v2/models/" + Uri.EscapeDataString(model) + (version is null ? "" : "/versions/" + Uri.EscapeDataString(version)) + "/" + action;
        return new Uri(WithTrailingSlash(baseAddress), path);
    }

    public static Uri WithTrailingSlash(Uri address) =>
        address.AbsoluteUri.EndsWith('/') ? address : new Uri(address.AbsoluteUri + "/");

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<RequestOutcome> SendAsync(int model, int input, CancellationToken cancellationToken)
    {
        var body = _bodies[input];
        using var request = new HttpRequestMessage(HttpMethod.Post, _inferUris[model])
        {
            Content = new ReadOnlyMemoryContent(body.Bytes),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", body.ContentType);
        if (body.HeaderLength is not null)
        {
            request.Headers.TryAddWithoutValidation("Inference-Header-Content-Length", body.HeaderLength);
        }
        using var response = await _invoker.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.OK)
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                while (await stream.ReadAsync(Sink, cancellationToken).ConfigureAwait(false) > 0)
                {
                }
            }
            return ColdStart.Of(response) is { } coldMs ? RequestOutcome.OkCold(coldMs) : RequestOutcome.Ok;
        }
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return RequestOutcome.Failed(ErrorKey.Http((int)response.StatusCode), Detail(text));
    }

    public ValueTask DisposeAsync()
    {
        _invoker.Dispose();
        return ValueTask.CompletedTask;
    }

    private static string Detail(string body)
    {
        var text = body.Length > 300 ? body[..300] : body;
        return new StringBuilder(text).Replace('\n', ' ').Replace('\r', ' ').ToString();
    }

    private sealed record Body(byte[] Bytes, string ContentType, string? HeaderLength);
}
