using Google.Protobuf.Collections;
using Grpc.Core;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Models;
using InferenceServer.Core.Monitoring;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing;
using InferenceServer.Core.Serving;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TensorMetadata = InferenceServer.Protocols.Grpc.Messages.ModelMetadataResponse.Types.TensorMetadata;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// <c>inference.GRPCInferenceService</c>: each method translates between protobuf messages and the same front-door
/// calls the REST endpoints make; nothing here decides anything about a model.
/// <see cref="InferenceGrpcMethodProvider"/> binds the methods to Grpc.AspNetCore; core errors become their status
/// (<see cref="GrpcErrors"/>).
/// </summary>
/// <remarks>
/// Grpc.AspNetCore.Server.Reflection describes a mapped service through the <c>Descriptor</c> of the type its
/// <see cref="BindServiceMethodAttribute"/> names: the generated <see cref="GRPCInferenceService"/>, whose descriptor
/// is the whole service as the .proto file declares it. That type has no bind method (no server stub is generated),
/// so Grpc.AspNetCore's own binder finds nothing and the method provider alone binds the methods.
/// </remarks>
[BindServiceMethod(typeof(GRPCInferenceService), "BindService")]
internal sealed class InferenceGrpcService(InferenceFrontDoor door, TimeProvider time, IOptions<GrpcProtocolOptions> options, ILogger<InferenceGrpcService> logger)
{
    public const string ServiceName = "inference.GRPCInferenceService";

    // Read from the HTTP/2 request headers themselves: the call's Metadata is a copy of all of them, built on first use,
    // which a route that looks for its forcing header on every request would otherwise pay for each time. Binary
    // (-bin) metadata is never a routing header (a route's header names cannot end in -bin).
    private static readonly Func<object, string, string?> ReadMetadata = static (call, name) =>
        ((ServerCallContext)call).GetHttpContext().Request.Headers.TryGetValue(name, out var value) ? value.ToString() : null;

    private static RoutingContext Routing(ServerCallContext context, InferenceRequest? request = null) =>
        new(new RequestHeaders(context, ReadMetadata), request?.Parameters, inputs: request?.Inputs);

    /// <summary>
    /// Runs one decoded inference request; the caller disposes the response. A deadline also becomes the queue
    /// timeout, where the model's queue policy lets a request set one, and the call's token (deadline or client
    /// reset) takes a queued request out of the queue.
    /// </summary>
    internal Task<InferenceResponse> InferAsync(InferenceRequest request, ServerCallContext context, bool unary = false)
    {
        var deadline = context.Deadline;
        if (deadline != DateTime.MaxValue)
        {
            var remaining = (long)Math.Max(1, (deadline - time.GetUtcNow().UtcDateTime).TotalMicroseconds);
            request.TimeoutMicroseconds = request.TimeoutMicroseconds == 0 ? remaining : Math.Min(request.TimeoutMicroseconds, remaining);
        }
        // As REST does: a request that meets a version being retired runs on its successor.
        var waited = door.AwaitModelAsync(request.ModelName, context.CancellationToken);
        return waited.IsCompletedSuccessfully && waited.Result is null
            ? door.InferAsync(request, Routing(context, request), context.CancellationToken)
            : InferColdAsync(waited, request, context, unary);
    }

    /// <summary>The response metadata key of a cold start's wait in milliseconds (REST's <c>Inference-Cold-Start-Ms</c> header).</summary>
    public const string ColdStartMetadata = "inference-cold-start-ms";

    // On demand, the request waited for its model to load: a unary answer's metadata says how long (a stream's headers
    // went with its first answer, so its messages cannot).
    private async Task<InferenceResponse> InferColdAsync(ValueTask<TimeSpan?> waited, InferenceRequest request, ServerCallContext context, bool unary)
    {
        if (await waited.ConfigureAwait(false) is { } wait && unary)
        {
            await context.WriteResponseHeadersAsync(new Metadata { { ColdStartMetadata, Http.InferenceHeaders.Milliseconds(wait) } }).ConfigureAwait(false);
        }
        return await door.InferAsync(request, Routing(context, request), context.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>ModelInfer; the response marshaller writes the response and then disposes it.</summary>
    public async Task<InferenceResponse> ModelInfer(InferenceRequest request, ServerCallContext context)
    {
        using (request)
        {
            try
            {
                var response = await InferAsync(request, context, unary: true).ConfigureAwait(false);
                if (response.VariantHeader is { } variantHeader)
                {
                    // The variant that answered, in a trailer named as the response header REST sends it in.
                    context.ResponseTrailers.Add(variantHeader, response.Variant!);
                }
                return response;
            }
            catch (Exception e)
            {
                throw GrpcErrors.Translate(e, context, logger);
            }
        }
    }

    public Task ModelStreamInfer(IAsyncStreamReader<StreamInferRequest> requests, IServerStreamWriter<ModelStreamInferResponse> responses, ServerCallContext context) =>
        new GrpcStreamInfer(this, requests, responses, context, options.Value.MaxStreamRequestsInFlight, logger).RunAsync();

    public ServerLiveResponse ServerLive(ServerLiveRequest request) => new() { Live = door.IsLive };

    public ServerReadyResponse ServerReady(ServerReadyRequest request) => new() { Ready = door.IsReady };

    // As Triton answers: an unknown or unready model is "not ready", not an error.
    public ModelReadyResponse ModelReady(ModelReadyRequest request, ServerCallContext context) =>
        new() { Ready = door.IsModelReady(request.Name, request.Version, Routing(context)) };

    public ServerMetadataResponse ServerMetadata(ServerMetadataRequest request)
    {
        var info = door.Server;
        var response = new ServerMetadataResponse { Name = info.Name, Version = info.Version };
        response.Extensions.AddRange(info.Extensions);
        return response;
    }

    public ModelMetadataResponse ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        // A route's metadata is its primary variant's, whatever variant a request would go to.
        var target = door.Describe(request.Name, request.Version, Routing(context));
        var config = target.Config;
        var response = new ModelMetadataResponse { Name = target.Name, Platform = config.Platform, Precision = target.Precision };
        response.Versions.AddRange(target.Route.ReadyVersions);
        AddTensors(response.Inputs, config, config.Input);
        AddTensors(response.Outputs, config, config.Output);
        return response;
    }

    public ModelConfigResponse ModelConfig(ModelConfigRequest request, ServerCallContext context) =>
        new() { Config = door.ModelConfig(request.Name, request.Version, Routing(context)) };

    public ModelStatisticsResponse ModelStatistics(ModelStatisticsRequest request)
    {
        var response = new ModelStatisticsResponse();
        foreach (var snapshot in door.Statistics(request.Name, request.Version))
        {
            response.ModelStats.Add(StatisticsMessage(snapshot));
        }
        return response;
    }

    public RepositoryIndexResponse RepositoryIndex(RepositoryIndexRequest request)
    {
        var response = new RepositoryIndexResponse();
        foreach (var row in door.RepositoryIndex())
        {
            if (request.Ready && row.State != ModelState.Ready)
            {
                continue;
            }
            var index = new RepositoryIndexResponse.Types.ModelIndex
            {
                Name = row.Name,
                Version = row.Version,
                State = row.State.ProtocolName(),
                Reason = row.Reason,
                Precision = row.Precision,
            };
            if (row.Memory is { } memory)
            {
                index.Memory = new RepositoryIndexResponse.Types.ModelMemory
                {
                    CpuBytes = memory.CpuBytes,
                    Measured = memory.Measured,
                    CpuBudgetBytes = memory.CpuBudgetBytes ?? 0,
                    CpuHeadroomBytes = memory.CpuHeadroomBytes ?? 0,
                };
                foreach (var gpu in memory.Gpus)
                {
                    index.Memory.Gpus.Add(new RepositoryIndexResponse.Types.GpuMemory
                    {
                        Device = gpu.Device, Bytes = gpu.Bytes, BudgetBytes = gpu.BudgetBytes ?? 0, HeadroomBytes = gpu.HeadroomBytes ?? 0,
                    });
                }
            }
            response.Models.Add(index);
        }
        return response;
    }

    // Answers once the model serves, or with the reason the load failed; the same call REST's load makes. Uploaded files
    // go to disk from the message's own bytes; the call's deadline (or a 'timeout' parameter, microseconds) bounds the load.
    // The files came written to disk already (ModelLoadMarshaller); a file: parameter still here was encoded in a way
    // the marshaller leaves to the generated parser, and is written (or refused) here.
    public async Task<RepositoryModelLoadResponse> RepositoryModelLoad(ModelLoadMessage message, ServerCallContext context)
    {
        var request = message.Request;
        string? config = null;
        TimeSpan? timeout = null;
        var upload = message.Upload;
        try
        {
            foreach (var (key, value) in request.Parameters)
            {
                if (key == "config")
                {
                    config = value.ParameterChoiceCase == ModelRepositoryParameter.ParameterChoiceOneofCase.StringParam
                        ? value.StringParam
                        : throw InferenceException.Invalid("parameter 'config' must be a string_param holding the model configuration as JSON");
                }
                else if (key == "timeout")
                {
                    timeout = value.ParameterChoiceCase == ModelRepositoryParameter.ParameterChoiceOneofCase.Int64Param && value.Int64Param > 0
                        ? ModelLoadOverrides.TimeoutFromMicroseconds(value.Int64Param)
                        : throw InferenceException.Invalid("parameter 'timeout' must be an int64_param of microseconds, more than 0");
                }
                else if (key.StartsWith("file:", StringComparison.Ordinal))
                {
                    if (value.ParameterChoiceCase != ModelRepositoryParameter.ParameterChoiceOneofCase.BytesParam)
                    {
                        throw InferenceException.Invalid($"parameter '{key}' must be a bytes_param holding the file's content");
                    }
                    upload ??= door.BeginUpload(request.ModelName);
                    upload.AddFile(key["file:".Length..], value.BytesParam.Span);
                }
            }
            var deadline = context.Deadline;
            if (deadline != DateTime.MaxValue)
            {
                var remaining = deadline - time.GetUtcNow().UtcDateTime;
                remaining = remaining < TimeSpan.Zero ? TimeSpan.Zero : remaining;
                timeout = timeout is null || remaining < timeout ? remaining : timeout;
            }
            var overrides = config is null && upload is null && timeout is null ? null : new ModelLoadOverrides(config, upload) { Timeout = timeout };
            await door.LoadModelAsync(request.ModelName, overrides, context.CancellationToken).ConfigureAwait(false);
        }
        finally
        {
            upload?.Dispose();
            message.Dispose();
        }
        return new RepositoryModelLoadResponse();
    }

    public async Task<RepositoryModelUnloadResponse> RepositoryModelUnload(RepositoryModelUnloadRequest request, ServerCallContext context)
    {
        var unloadDependents = false;
        if (request.Parameters.TryGetValue("unload_dependents", out var value))
        {
            unloadDependents = value.ParameterChoiceCase == ModelRepositoryParameter.ParameterChoiceOneofCase.BoolParam
                ? value.BoolParam
                : throw InferenceException.Invalid("parameter 'unload_dependents' must be a bool_param");
        }
        await door.UnloadModelAsync(request.ModelName, unloadDependents, context.CancellationToken).ConfigureAwait(false);
        return new RepositoryModelUnloadResponse();
    }

    private static void AddTensors(RepeatedField<TensorMetadata> target, Core.Repository.ModelConfig config, IReadOnlyList<IModelTensor> tensors)
    {
        foreach (var tensor in tensors)
        {
            var metadata = new TensorMetadata { Name = tensor.Name, Datatype = Core.Tensors.DataTypes.ProtocolName(tensor.ElementType()) };
            metadata.Shape.AddRange(RequestValidator.ExpectedShape(config, tensor));
            target.Add(metadata);
        }
    }

    private static Messages.ModelStatistics StatisticsMessage(ModelStatisticsSnapshot snapshot)
    {
        var message = new Messages.ModelStatistics
        {
            Name = snapshot.Name,
            Version = snapshot.Version,
            Precision = snapshot.Precision,
            LastInference = (ulong)snapshot.LastInferenceMs,
            InferenceCount = (ulong)snapshot.InferenceCount,
            ExecutionCount = (ulong)snapshot.ExecutionCount,
            InferenceStats = new InferStatistics
            {
                Success = Duration(snapshot.Success),
                Fail = Duration(snapshot.Fail),
                Queue = Duration(snapshot.Queue),
                ComputeInput = Duration(snapshot.ComputeInput),
                ComputeInfer = Duration(snapshot.ComputeInfer),
                ComputeOutput = Duration(snapshot.ComputeOutput),
                // There is no response cache; the fields are there because clients read them.
                CacheHit = new StatisticDuration(),
                CacheMiss = new StatisticDuration(),
            },
        };
        foreach (var batch in snapshot.Batches)
        {
            message.BatchStats.Add(new InferBatchStatistics
            {
                BatchSize = (ulong)batch.BatchSize,
                ComputeInput = Duration(batch.ComputeInput),
                ComputeInfer = Duration(batch.ComputeInfer),
                ComputeOutput = Duration(batch.ComputeOutput),
            });
        }
        return message;
    }

    private static StatisticDuration Duration(DurationStatistic statistic) =>
        new() { Count = (ulong)statistic.Count, Ns = (ulong)statistic.Ns };
}
