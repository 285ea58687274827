using System.Buffers;
using Google.Protobuf;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Models;
using InferenceServer.Core.Monitoring;
using InferenceServer.Core.Repository;
using InferenceServer.Grpc;
using InferenceServer.Protocols.Grpc.Messages;
using InferenceServer.Protocols.Http;
using TensorMetadata = InferenceServer.Protocols.Grpc.Messages.ModelMetadataResponse.Types.TensorMetadata;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// <c>inference.GRPCInferenceService</c>: each method translates between protobuf messages and the same core calls
/// the REST endpoints make (model manager, scheduler, statistics); nothing here decides anything about a model.
/// </summary>
internal sealed class InferenceGrpcService(ModelManager manager, ServerInfo info, ServerReadiness readiness)
{
    public const string ServiceName = "inference.GRPCInferenceService";

    /// <summary>Whether the server takes inference traffic (the rule is <see cref="ServerReadiness"/>'s, as for REST).</summary>
    public bool Ready => readiness.IsReady;

    public void Register(GrpcServiceRegistry registry)
    {
        registry
            .AddUnary(ServiceName, "ServerLive", Unary(ServerLiveRequest.Parser, (_, _) => new ServerLiveResponse { Live = true }))
            .AddUnary(ServiceName, "ServerReady", Unary(ServerReadyRequest.Parser, (_, _) => new ServerReadyResponse { Ready = Ready }))
            .AddUnary(ServiceName, "ModelReady", Unary(ModelReadyRequest.Parser, (r, _) => ModelReady(r)))
            .AddUnary(ServiceName, "ServerMetadata", Unary(ServerMetadataRequest.Parser, (_, _) => ServerMetadata()))
            .AddUnary(ServiceName, "ModelMetadata", Unary(ModelMetadataRequest.Parser, (r, _) => ModelMetadata(r)))
            .AddUnary(ServiceName, "ModelConfig", Unary(ModelConfigRequest.Parser, (r, _) => ModelConfig(r)))
            .AddUnary(ServiceName, "ModelStatistics", Unary(ModelStatisticsRequest.Parser, (r, _) => ModelStatistics(r)))
            .AddUnary(ServiceName, "RepositoryIndex", Unary(RepositoryIndexRequest.Parser, (r, _) => RepositoryIndex(r)))
            .AddUnary(ServiceName, "RepositoryModelLoad", UnaryAsync(RepositoryModelLoadRequest.Parser, RepositoryModelLoadAsync))
            .AddUnary(ServiceName, "RepositoryModelUnload", UnaryAsync(RepositoryModelUnloadRequest.Parser, RepositoryModelUnloadAsync))
            .AddUnary(ServiceName, "ModelInfer", ModelInferAsync)
            .AddDuplexStreaming(ServiceName, "ModelStreamInfer", new GrpcStreamInfer(this).RunAsync);
    }

    /// <summary>Runs one inference request decoded from a <c>ModelInferRequest</c>; the caller disposes the response.</summary>
    internal Task<InferenceResponse> InferAsync(InferenceRequest request, GrpcCallContext context)
    {
        if (context.TimeRemaining is { } left)
        {
            // The deadline also becomes the queue timeout, where the model's queue policy lets a request set one.
            var remaining = (long)Math.Max(1, left.TotalMicroseconds);
            request.TimeoutMicroseconds = request.TimeoutMicroseconds == 0 ? remaining : Math.Min(request.TimeoutMicroseconds, remaining);
        }
        // Through the manager, as REST does: a request that meets a version being retired runs on its successor.
        return manager.InferAsync(request, context.CancellationToken);
    }

    private async ValueTask ModelInferAsync(ReadOnlySequence<byte> message, GrpcMessageWriter writer, GrpcCallContext context)
    {
        try
        {
            using var request = GrpcInferRequestDecoder.Decode(message);
            using var response = await InferAsync(request, context).ConfigureAwait(false);
            writer.WriteProtobuf(GrpcInferResponseEncoder.ToMessage(response));
        }
        catch (InferenceException e)
        {
            throw GrpcErrors.ToStatus(e);
        }
    }

    private ModelReadyResponse ModelReady(ModelReadyRequest request)
    {
        // As Triton answers: an unknown or unready model is "not ready", not an error.
        try
        {
            manager.Resolve(request.Name, request.Version);
            return new ModelReadyResponse { Ready = true };
        }
        catch (InferenceException e) when (e.Kind is InferenceErrorKind.NotFound or InferenceErrorKind.Unavailable)
        {
            return new ModelReadyResponse { Ready = false };
        }
    }

    private ServerMetadataResponse ServerMetadata()
    {
        var response = new ServerMetadataResponse { Name = info.Name, Version = info.Version };
        response.Extensions.AddRange(info.Extensions);
        return response;
    }

    private ModelMetadataResponse ModelMetadata(ModelMetadataRequest request)
    {
        var version = manager.Resolve(request.Name, request.Version);
        var entry = manager.Models[request.Name];
        var config = version.Config!;
        var response = new ModelMetadataResponse { Name = entry.Name, Platform = config.Platform };
        foreach (var ready in entry.ReadyVersions())
        {
            response.Versions.Add(ready.VersionText);
        }
        AddTensors(response.Inputs, config, config.Inputs);
        AddTensors(response.Outputs, config, config.Outputs);
        return response;
    }

    private static void AddTensors(Google.Protobuf.Collections.RepeatedField<TensorMetadata> target, Core.Repository.ModelConfig config, IReadOnlyList<TensorConfig> tensors)
    {
        foreach (var tensor in tensors)
        {
            var metadata = new TensorMetadata { Name = tensor.Name, Datatype = Core.Tensors.DataTypes.ProtocolName(tensor.DataType) };
            metadata.Shape.AddRange(RequestValidator.ExpectedShape(config, tensor));
            target.Add(metadata);
        }
    }

    private ModelConfigResponse ModelConfig(ModelConfigRequest request) =>
        new() { Config = ModelConfigMessages.ToMessage(manager.Resolve(request.Name, request.Version).Config!) };

    private ModelStatisticsResponse ModelStatistics(ModelStatisticsRequest request)
    {
        var response = new ModelStatisticsResponse();
        foreach (var snapshot in ModelStatisticsSelection.Select(manager, request.Name, request.Version))
        {
            response.ModelStats.Add(StatisticsMessage(snapshot));
        }
        return response;
    }

    private static Messages.ModelStatistics StatisticsMessage(ModelStatisticsSnapshot snapshot)
    {
        var message = new Messages.ModelStatistics
        {
            Name = snapshot.Name,
            Version = snapshot.Version,
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

    private RepositoryIndexResponse RepositoryIndex(RepositoryIndexRequest request)
    {
        var response = new RepositoryIndexResponse();
        foreach (var row in manager.Index())
        {
            if (request.Ready && row.State != ModelState.Ready)
            {
                continue;
            }
            response.Models.Add(new RepositoryIndexResponse.Types.ModelIndex
            {
                Name = row.Name,
                Version = row.Version,
                State = row.State.ProtocolName(),
                Reason = row.Reason,
            });
        }
        return response;
    }

    // Answers once the model serves, or with the reason the load failed; the same call REST's load makes.
    private async Task<IMessage> RepositoryModelLoadAsync(RepositoryModelLoadRequest request, GrpcCallContext context)
    {
        string? config = null;
        var files = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        foreach (var (key, value) in request.Parameters)
        {
            if (key == "config")
            {
                config = value.ParameterChoiceCase == ModelRepositoryParameter.ParameterChoiceOneofCase.StringParam
                    ? value.StringParam
                    : throw InferenceException.Invalid("parameter 'config' must be a string_param holding the model configuration as JSON");
            }
            else if (key.StartsWith("file:", StringComparison.Ordinal))
            {
                files[key["file:".Length..]] = value.ParameterChoiceCase == ModelRepositoryParameter.ParameterChoiceOneofCase.BytesParam
                    ? value.BytesParam.Memory
                    : throw InferenceException.Invalid($"parameter '{key}' must be a bytes_param holding the file's content");
            }
        }
        var overrides = config is null && files.Count == 0 ? null : new ModelLoadOverrides(config, files);
        await manager.LoadModelAsync(request.ModelName, overrides, context.CancellationToken).ConfigureAwait(false);
        return new RepositoryModelLoadResponse();
    }

    private async Task<IMessage> RepositoryModelUnloadAsync(RepositoryModelUnloadRequest request, GrpcCallContext context)
    {
        var unloadDependents = false;
        if (request.Parameters.TryGetValue("unload_dependents", out var value))
        {
            unloadDependents = value.ParameterChoiceCase == ModelRepositoryParameter.ParameterChoiceOneofCase.BoolParam
                ? value.BoolParam
                : throw InferenceException.Invalid("parameter 'unload_dependents' must be a bool_param");
        }
        await manager.UnloadModelAsync(request.ModelName, unloadDependents, context.CancellationToken).ConfigureAwait(false);
        return new RepositoryModelUnloadResponse();
    }

    /// <summary>A unary method like <see cref="Unary"/> whose work is asynchronous (loading a model).</summary>
    internal static GrpcUnaryHandler UnaryAsync<TRequest>(MessageParser<TRequest> parser, Func<TRequest, GrpcCallContext, Task<IMessage>> handle)
        where TRequest : IMessage<TRequest>
    {
        return async (message, writer, context) =>
        {
            var request = ParseRequest(parser, message);
            try
            {
                writer.WriteProtobuf(await handle(request, context).ConfigureAwait(false));
            }
            catch (InferenceException e)
            {
                throw GrpcErrors.ToStatus(e);
            }
        };
    }

    /// <summary>
    /// A unary method whose request and response are small: parsed with the generated parser, answered from a
    /// synchronous function; a malformed request is INVALID_ARGUMENT and core errors map to their status.
    /// </summary>
    internal static GrpcUnaryHandler Unary<TRequest>(MessageParser<TRequest> parser, Func<TRequest, GrpcCallContext, IMessage> handle)
        where TRequest : IMessage<TRequest>
    {
        return (message, writer, context) =>
        {
            var request = ParseRequest(parser, message);
            try
            {
                writer.WriteProtobuf(handle(request, context));
            }
            catch (InferenceException e)
            {
                throw GrpcErrors.ToStatus(e);
            }
            return ValueTask.CompletedTask;
        };
    }

    private static TRequest ParseRequest<TRequest>(MessageParser<TRequest> parser, ReadOnlySequence<byte> message)
        where TRequest : IMessage<TRequest>
    {
        try
        {
            return parser.ParseFrom(message);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new GrpcStatusException(GrpcStatusCode.InvalidArgument, $"malformed {typeof(TRequest).Name}: {e.Message}");
        }
    }
}
