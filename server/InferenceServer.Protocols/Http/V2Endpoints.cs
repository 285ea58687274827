using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using InferenceServer.Core.Features;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing;
using InferenceServer.Core.Serving;
using InferenceServer.Protocols.Access;
using InferenceServer.Protocols.Buffers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace InferenceServer.Protocols.Http;

/// <summary>The KServe v2 (Open Inference Protocol) REST endpoints, including Triton's binary tensor extension.</summary>
public static class V2Endpoints
{
    /// <summary>Maps every <c>/v2</c> route, each tagged with its <see cref="ApiCategory"/>, onto <paramref name="app"/>; <see cref="V2Http.UseV2Http"/> does, with the REST middleware.</summary>
    public static IEndpointRouteBuilder MapV2Endpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v2", Guard(ServerMetadataAsync)).WithMetadata(ApiCategory.Metadata);
        app.MapGet("/v2/health/live", Guard(LiveAsync)).WithMetadata(ApiCategory.Health);
        app.MapGet("/v2/health/ready", Guard(ReadyAsync)).WithMetadata(ApiCategory.Health);
        app.MapGet("/v2/models/{model}", Guard(ModelMetadataAsync)).WithMetadata(ApiCategory.Metadata);
        app.MapGet("/v2/models/{model}/versions/{version}", Guard(ModelMetadataAsync)).WithMetadata(ApiCategory.Metadata);
        app.MapGet("/v2/models/{model}/ready", Guard(ModelReadyAsync)).WithMetadata(ApiCategory.Health);
        app.MapGet("/v2/models/{model}/versions/{version}/ready", Guard(ModelReadyAsync)).WithMetadata(ApiCategory.Health);
        app.MapGet("/v2/models/{model}/config", Guard(ModelConfigAsync)).WithMetadata(ApiCategory.ModelConfig);
        app.MapGet("/v2/models/{model}/versions/{version}/config", Guard(ModelConfigAsync)).WithMetadata(ApiCategory.ModelConfig);
        app.MapPost("/v2/models/{model}/infer", Guard(InferAsync)).WithMetadata(ApiCategory.Inference);
        app.MapPost("/v2/models/{model}/versions/{version}/infer", Guard(InferAsync)).WithMetadata(ApiCategory.Inference);
        // A model's feature view turns raw records or entities into its inputs, and its labels name the outputs.
        app.MapPost("/v2/models/{model}/predict", Guard(PredictAsync)).WithMetadata(ApiCategory.Inference);
        app.MapPost("/v2/models/{model}/versions/{version}/predict", Guard(PredictAsync)).WithMetadata(ApiCategory.Inference);
        app.MapPost("/v2/repository/index", Guard(RepositoryIndexAsync)).WithMetadata(ApiCategory.ModelRepository);
        app.MapPost("/v2/repository/models/{model}/load", Guard(RepositoryLoadAsync)).WithMetadata(ApiCategory.ModelRepository);
        app.MapPost("/v2/repository/models/{model}/unload", Guard(RepositoryUnloadAsync)).WithMetadata(ApiCategory.ModelRepository);
        app.MapGet("/v2/models/stats", Guard(ModelStatisticsAsync)).WithMetadata(ApiCategory.Statistics);
        app.MapGet("/v2/models/{model}/stats", Guard(ModelStatisticsAsync)).WithMetadata(ApiCategory.Statistics);
        app.MapGet("/v2/models/{model}/versions/{version}/stats", Guard(ModelStatisticsAsync)).WithMetadata(ApiCategory.Statistics);
        // Traffic management of a route (routing.pbtxt): outcomes are posted by the clients that infer, the reports are
        // statistics, and steering a rollout changes what serves, as the repository API does.
        app.MapPost("/v2/models/{model}/feedback", Guard(FeedbackAsync)).WithMetadata(ApiCategory.Inference);
        // Drift of a version's live inputs and predictions against its training profile.
        app.MapGet("/v2/models/{model}/drift", Guard(DriftAsync)).WithMetadata(ApiCategory.Statistics);
        app.MapGet("/v2/models/{model}/versions/{version}/drift", Guard(DriftAsync)).WithMetadata(ApiCategory.Statistics);
        app.MapGet("/v2/models/{model}/experiment", Guard(ExperimentAsync)).WithMetadata(ApiCategory.Statistics);
        app.MapGet("/v2/models/{model}/rollout", Guard(RolloutAsync)).WithMetadata(ApiCategory.Statistics);
        app.MapPost("/v2/models/{model}/rollout/{action}", Guard(ControlRolloutAsync)).WithMetadata(ApiCategory.ModelRepository);

        // Triton's extensions this server does not implement, at Triton's paths (http_server.cc), so a client asking for
        // one learns that rather than getting a bare 404.
        const string SendInBody = "send tensor data in the request body (JSON, or binary with the binary_tensor_data extension)";
        const string Generate = "the generate extension is not supported by this server; use the model's infer endpoint";
        app.Map("/v2/systemsharedmemory/{**action}", NotSupported($"the system shared memory extension is not supported by this server; {SendInBody}")).WithMetadata(ApiCategory.SharedMemory);
        app.Map("/v2/cudasharedmemory/{**action}", NotSupported($"the CUDA shared memory extension is not supported by this server; {SendInBody}")).WithMetadata(ApiCategory.SharedMemory);
        app.Map("/v2/trace/setting", NotSupported("the trace extension is not supported by this server")).WithMetadata(ApiCategory.Trace);
        app.Map("/v2/models/{model}/trace/setting", NotSupported("the trace extension is not supported by this server")).WithMetadata(ApiCategory.Trace);
        app.Map("/v2/logging", NotSupported("the logging extension is not supported by this server")).WithMetadata(ApiCategory.Logging);
        app.Map("/v2/models/{model}/generate", NotSupported(Generate)).WithMetadata(ApiCategory.Inference);
        app.Map("/v2/models/{model}/generate_stream", NotSupported(Generate)).WithMetadata(ApiCategory.Inference);
        app.Map("/v2/models/{model}/versions/{version}/generate", NotSupported(Generate)).WithMetadata(ApiCategory.Inference);
        app.Map("/v2/models/{model}/versions/{version}/generate_stream", NotSupported(Generate)).WithMetadata(ApiCategory.Inference);
        return app;
    }

    // 501 Not Implemented: the server lacks the functionality, whatever the request; it is what Triton answers when a
    // feature is switched off (TRITONSERVER_ERROR_UNSUPPORTED, e.g. client shared memory disallowed), it tells a client
    // that retrying will not help (unlike 503), and it matches the UNIMPLEMENTED of the same calls over gRPC.
    private static RequestDelegate NotSupported(string message) => context =>
        HttpErrors.WriteAsync(context, StatusCodes.Status501NotImplemented, message);

    // Reads a header only when the routing policy asks for it.
    private static readonly Func<object, string, string?> ReadHeader = static (headers, name) =>
        ((IHeaderDictionary)headers).TryGetValue(name, out var value) ? value.ToString() : null;

    private static InferenceFrontDoor Door(HttpContext context) => context.RequestServices.GetRequiredService<InferenceFrontDoor>();

    private static RoutingContext Routing(HttpContext context, InferenceRequest? request = null) =>
        new(new RequestHeaders(context.Request.Headers, ReadHeader), request?.Parameters, inputs: request?.Inputs);

    private static Task ServerMetadataAsync(HttpContext context) =>
        WriteJsonAsync(context, StatusCodes.Status200OK, writer => MetadataJson.WriteServer(writer, Door(context).Server));

    private static Task LiveAsync(HttpContext context)
    {
        context.Response.StatusCode = Door(context).IsLive ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        return Task.CompletedTask;
    }

    private static Task ReadyAsync(HttpContext context)
    {
        var ready = Door(context).IsReady;
        context.Response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        return Task.CompletedTask;
    }

    // A route's metadata is its primary variant's (the front door's Describe), whatever variant a request would go to.
    private static Task ModelMetadataAsync(HttpContext context)
    {
        var (model, version) = Route(context);
        var target = Door(context).Describe(model, version, Routing(context));
        return WriteJsonAsync(context, StatusCodes.Status200OK, writer => MetadataJson.WriteModel(writer, target));
    }

    private static Task ModelReadyAsync(HttpContext context)
    {
        // Resolving answers 404 or 503 (with the reason) for a model or version that cannot serve, as Triton does; a
        // route is ready while a variant serves.
        var (model, version) = Route(context);
        Door(context).Resolve(model, version, Routing(context));
        context.Response.StatusCode = StatusCodes.Status200OK;
        return Task.CompletedTask;
    }

    private static Task ModelConfigAsync(HttpContext context)
    {
        var (model, version) = Route(context);
        var config = Door(context).ModelConfig(model, version, Routing(context));
        return WriteJsonAsync(context, StatusCodes.Status200OK, writer => ModelConfigJson.Write(writer, config));
    }

    private static Task ModelStatisticsAsync(HttpContext context)
    {
        var values = context.Request.RouteValues;
        var model = values.TryGetValue("model", out var name) ? (string?)name : null;
        var version = values.TryGetValue("version", out var number) ? (string?)number : null;
        var snapshots = Door(context).Statistics(model, version);
        return WriteJsonAsync(context, StatusCodes.Status200OK, writer => StatisticsJson.Write(writer, snapshots));
    }

    private static async Task RepositoryIndexAsync(HttpContext context)
    {
        var readyOnly = await ReadBodyAsync(context, RepositoryRequestReader.ReadIndex).ConfigureAwait(false);
        var index = Door(context).RepositoryIndex();
        await WriteJsonAsync(context, StatusCodes.Status200OK, writer => MetadataJson.WriteIndex(writer, index, readyOnly)).ConfigureAwait(false);
    }

    // Answers once the model serves (or the load failed, with the reason); success has an empty body, as in Triton.
    // Uploaded files are written to disk as the body is read; they stay only while a version loaded from them lives.
    private static async Task RepositoryLoadAsync(HttpContext context)
    {
        var door = Door(context);
        var model = RepositoryModel(context);
        ModelUpload? upload = null;
        try
        {
            var overrides = await ReadBodyAsync(context, body => RepositoryRequestReader.ReadLoad(body, () => upload = door.BeginUpload(model))).ConfigureAwait(false);
            await door.LoadModelAsync(model, overrides, context.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            upload?.Dispose();
        }
        EmptyOk(context.Response);
    }

    // Answers once the model's versions have finished their requests and released their instances.
    private static async Task RepositoryUnloadAsync(HttpContext context)
    {
        var unloadDependents = await ReadBodyAsync(context, RepositoryRequestReader.ReadUnload).ConfigureAwait(false);
        await Door(context).UnloadModelAsync(RepositoryModel(context), unloadDependents, context.RequestAborted).ConfigureAwait(false);
        EmptyOk(context.Response);
    }

    // The model a repository request names, as the client wrote it: Kestrel decodes every escape of the path but %2F
    // (so that an encoded '/' does not split a segment), and a name with a '/' must be refused as one, not passed on
    // as a name with "%2F" in it.
    private static string RepositoryModel(HttpContext context) =>
        Route(context).Model.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);

    private static async Task FeedbackAsync(HttpContext context)
    {
        var (id, outcome) = await ReadBodyAsync<(string, Core.Routing.Experiments.Outcome)>(context, FeedbackRequestReader.Read).ConfigureAwait(false);
        var joined = Door(context).Feedback(Route(context).Model, id, outcome);
        await WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("route"u8, joined.Route);
            writer.WriteString("id"u8, joined.Id);
            writer.WriteString("variant"u8, joined.Variant);
            writer.WriteString("model"u8, joined.Model);
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private static Task DriftAsync(HttpContext context)
    {
        var values = context.Request.RouteValues;
        var version = values.TryGetValue("version", out var number) ? (string?)number : null;
        var report = Door(context).Drift((string)values["model"]!, version);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        return report.WriteJsonAsync(context.Response.Body, context.RequestAborted);
    }

    private static Task ExperimentAsync(HttpContext context)
    {
        var report = Door(context).Experiment(Route(context).Model);
        return WriteJsonAsync(context, StatusCodes.Status200OK, writer => ExperimentJson.Write(writer, report));
    }

    private static Task RolloutAsync(HttpContext context)
    {
        var status = Door(context).Rollout(Route(context).Model);
        return WriteJsonAsync(context, StatusCodes.Status200OK, writer => RolloutJson.Write(writer, status));
    }

    private static Task ControlRolloutAsync(HttpContext context)
    {
        var status = Door(context).ControlRollout(Route(context).Model, (string)context.Request.RouteValues["action"]!);
        return WriteJsonAsync(context, StatusCodes.Status200OK, writer => RolloutJson.Write(writer, status));
    }

    // A repository request's body (optional, within the body limit), read by one of RepositoryRequestReader's readers.
    private static async Task<T> ReadBodyAsync<T>(HttpContext context, Func<ReadOnlySpan<byte>, T> read)
    {
        var services = context.RequestServices;
        var limit = services.GetRequiredService<IOptions<HttpProtocolOptions>>().Value.MaxRequestBodyBytes;
        using var body = await RequestBody.ReadAsync(context.Request, limit, services.GetRequiredService<RequestBodyBudget>(), context.RequestAborted).ConfigureAwait(false);
        return read(body.Span);
    }

    private static void EmptyOk(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentLength = 0;
    }

    private static async Task InferAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var door = services.GetRequiredService<InferenceFrontDoor>();
        var limit = services.GetRequiredService<IOptions<HttpProtocolOptions>>().Value.MaxRequestBodyBytes;
        var (model, version) = Route(context);
        await AwaitModelAsync(context, door, model).ConfigureAwait(false);
        // An unknown model is refused before the body is read. A JSON request is routed once its parameters and inputs
        // are read. A raw body has none, and decoding it needs a config: a model's raw body is routed first and decoded
        // with the config of the version it goes to; a route's is decoded with the config that describes the route (its
        // primary's: the variants are expected to take the same inputs) and routed once decoded, as its key may be an input.
        var route = door.FindModel(model);
        var headerLength = ReadHeaderLength(context.Request);
        var raw = headerLength == 0 ? door.Describe(route, version, Routing(context)) : null;
        ModelTarget? target = raw is not null && !route.RoutesTraffic ? raw : null;
        if (await RefusedBeforeReadingAsync(context, door, route, version, raw).ConfigureAwait(false))
        {
            return;
        }

        InferenceRequest request;
        OutputFormat format;
        using (var body = await RequestBody.ReadAsync(context.Request, limit, services.GetRequiredService<RequestBodyBudget>(), context.RequestAborted).ConfigureAwait(false))
        {
            if (raw is not null)
            {
                request = InferRequestDecoder.DecodeRaw(model, version, raw.Config, body.Span);
                format = OutputFormat.AllBinary;
            }
            else
            {
                var jsonLength = headerLength ?? body.Length;
                if (jsonLength > body.Length)
                {
                    throw InferenceException.Invalid($"{InferenceHeaders.HeaderContentLength} is {jsonLength} but the body has only {body.Length} bytes");
                }
                request = InferRequestDecoder.Decode(model, version, body.Span[..jsonLength], body.Span[jsonLength..], out format);
            }
        }

        using (request)
        {
            var routing = Routing(context, request);
            // If the version chosen is retired meanwhile, the front door runs the request on its successor. A JSON
            // request is routed by the front door, after a feature view made its inputs where it asks for that.
            using var response = target is not null
                ? await door.InferAsync(target, request, routing, context.RequestAborted).ConfigureAwait(false)
                : await door.InferAsync(route, request, routing, context.RequestAborted).ConfigureAwait(false);
            await WriteInferResponseAsync(context, response, format).ConfigureAwait(false);
        }
    }

    private static async Task PredictAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var services = context.RequestServices;
        var door = services.GetRequiredService<InferenceFrontDoor>();
        var limit = services.GetRequiredService<IOptions<HttpProtocolOptions>>().Value.MaxRequestBodyBytes;
        var (model, version) = Route(context);
        await AwaitModelAsync(context, door, model).ConfigureAwait(false);
        var route = door.FindModel(model);
        if (await RefusedBeforeReadingAsync(context, door, route, version, null).ConfigureAwait(false))
        {
            return;
        }
        InferenceRequest request;
        FeatureQuery query;
        bool list;
        using (var body = await RequestBody.ReadAsync(context.Request, limit, services.GetRequiredService<RequestBodyBudget>(), context.RequestAborted).ConfigureAwait(false))
        {
            request = PredictRequestDecoder.Decode(model, version, body.Span, out query, out list);
        }
        using (request)
        {
            var routing = Routing(context, request);
            using var response = await door.PredictAsync(route, request, query, routing, context.RequestAborted).ConfigureAwait(false);
            if (response.VariantHeader is { } variantHeader)
            {
                context.Response.Headers[variantHeader] = response.Variant;
            }
            await WriteJsonAsync(context, StatusCodes.Status200OK,
                writer => PredictResponseEncoder.Write(writer, response, list, Stopwatch.GetElapsedTime(started))).ConfigureAwait(false);
        }
    }

    private static readonly (string, string) RefusalRetryAfter = HttpErrors.RetryAfter(InferenceFrontDoor.RefusalRetryAfter);

    // A request to a model whose queue is full is refused with 503 before its body is read: under overload most requests
    // are, and reading, decoding and throwing for each took the core the model needed. Kestrel then reads and drops the
    // unread body, and the connection stays open: closing it instead ("Connection: close") cost the server about twice
    // the CPU per refusal (accepting the client's new connection; benchmarks/RESULTS.md, issue 12).
    // A route's request goes on: which variant it goes to is decided later, and the variant's queue refuses it then.
    private static async ValueTask<bool> RefusedBeforeReadingAsync(HttpContext context, InferenceFrontDoor door, ModelRoute route, string? version,
        ModelTarget? described)
    {
        if (route.RoutesTraffic || door.RefuseBeforeReading(described ?? door.Describe(route, version, Routing(context))) is not { } refusal)
        {
            return false;
        }
        await HttpErrors.WriteRepeatedAsync(context, StatusCodes.Status503ServiceUnavailable, refusal, RefusalRetryAfter).ConfigureAwait(false);
        return true;
    }

    // On demand, a model that is not loaded is loaded first (the request waits); the answer then says how long it waited.
    private static async ValueTask AwaitModelAsync(HttpContext context, InferenceFrontDoor door, string model)
    {
        if (await door.AwaitModelAsync(model, context.RequestAborted).ConfigureAwait(false) is { } wait)
        {
            context.Response.Headers[InferenceHeaders.ColdStartMs] = InferenceHeaders.Milliseconds(wait);
        }
    }

    private static int? ReadHeaderLength(HttpRequest request)
    {
        var values = request.Headers[InferenceHeaders.HeaderContentLength];
        if (values.Count == 0)
        {
            return null;
        }
        if (!int.TryParse(values[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length))
        {
            throw InferenceException.Invalid($"{InferenceHeaders.HeaderContentLength} must be a non-negative integer, not '{values[0]}'");
        }
        return length;
    }

    private static async Task WriteInferResponseAsync(HttpContext context, InferenceResponse response, OutputFormat format)
    {
        using var json = new PooledBufferWriter();
        var binaryLength = InferResponseEncoder.WriteJson(json, response, format);
        var http = context.Response;
        http.StatusCode = StatusCodes.Status200OK;
        if (response.VariantHeader is { } variantHeader)
        {
            http.Headers[variantHeader] = response.Variant;
        }
        if (binaryLength > 0 || format == OutputFormat.AllBinary)
        {
            http.ContentType = "application/octet-stream";
            http.Headers[InferenceHeaders.HeaderContentLength] = json.WrittenCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            http.ContentType = "application/json";
        }
        http.ContentLength = json.WrittenCount + binaryLength;
        var body = http.BodyWriter;
        body.Write(json.WrittenMemory.Span);
        foreach (var output in response.Outputs)
        {
            if (format.IsBinary(output.Name))
            {
                body.Write(output.Data);
            }
        }
        await body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private static (string Model, string? Version) Route(HttpContext context)
    {
        var values = context.Request.RouteValues;
        return ((string)values["model"]!, values.TryGetValue("version", out var version) ? (string?)version : null);
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        using var body = new PooledBufferWriter(1024);
        using (var writer = new Utf8JsonWriter(body, V2Json.WriterOptions))
        {
            write(writer);
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.WrittenCount;
        await context.Response.Body.WriteAsync(body.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    // A handler's refusals of what the client sent become a v2 error body naming the problem. The server's own faults
    // (an Internal error, any other exception) go on to the exception handler (V2Http), which logs each once and answers
    // 500 with its correlation id.
    private static RequestDelegate Guard(Func<HttpContext, Task> handler) => async context =>
    {
        try
        {
            await handler(context).ConfigureAwait(false);
        }
        catch (InferenceException e) when (e.Kind != InferenceErrorKind.Internal)
        {
            var status = HttpErrors.StatusCode(e.Kind);
            // A 503 is a moment's refusal (a shed request, a full body budget, a model not ready yet): the client may
            // try again soon; a shed request says when.
            var header = HttpErrors.RetryAfter(e) ?? (status == StatusCodes.Status503ServiceUnavailable ? ("Retry-After", "1") : null);
            await HttpErrors.WriteAsync(context, status, e.Message, header).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            // A 415 names the codings the body may come in, as Triton's does.
            var header = e.StatusCode == StatusCodes.Status415UnsupportedMediaType ? ("Accept-Encoding", RequestBody.AcceptedEncodings) : ((string, string)?)null;
            await HttpErrors.WriteAsync(context, e.StatusCode, e.Message, header).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is no one to answer.
        }
    };
}
