using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using InferenceServer.Protocols.Access;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// Binds one service's methods to Grpc.AspNetCore for a method provider: each an endpoint with its access category,
/// the small ones with the generated messages (<see cref="ProtobufMarshallers"/>) and their errors turned into statuses
/// (<see cref="GrpcErrors"/>). It remembers what it bound, so <see cref="EnsureAllBound"/> can refuse to start a server
/// whose reflection would describe a method it does not serve.
/// </summary>
internal sealed class GrpcMethodBinder<TService>(ServiceMethodProviderContext<TService> context, string serviceName, int maxSend, ILogger logger)
    where TService : class
{
    private readonly List<string> _bound = [];

    /// <summary>The method <paramref name="name"/> with these marshallers, recorded as bound.</summary>
    public Method<TRequest, TResponse> Method<TRequest, TResponse>(MethodType type, string name, Marshaller<TRequest> request, Marshaller<TResponse> response)
    {
        _bound.Add(name);
        return new Method<TRequest, TResponse>(type, serviceName, name, request, response);
    }

    /// <summary>A unary method answered at once by <paramref name="handle"/>.</summary>
    public void Unary<TRequest, TResponse>(string name, ApiCategory category, MessageParser<TRequest> request, MessageParser<TResponse> response,
        Func<TService, TRequest, ServerCallContext, TResponse> handle)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var method = Method(MethodType.Unary, name, ProtobufMarshallers.Create(request, maxSend), ProtobufMarshallers.Create(response, maxSend));
        context.AddUnaryMethod(method, [category], (service, message, call) =>
        {
            try
            {
                return Task.FromResult(handle(service, message, call));
            }
            catch (Exception e)
            {
                return Task.FromException<TResponse>(GrpcErrors.Translate(e, call, logger));
            }
        });
    }

    /// <summary>A unary method answered by the task <paramref name="handle"/> returns.</summary>
    public void UnaryAsync<TRequest, TResponse>(string name, ApiCategory category, MessageParser<TRequest> request, MessageParser<TResponse> response,
        Func<TService, TRequest, ServerCallContext, Task<TResponse>> handle)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        UnaryAsync(name, category, ProtobufMarshallers.Create(request, maxSend), response, handle);

    /// <summary>As the other UnaryAsync, with a request read by a marshaller of its own.</summary>
    public void UnaryAsync<TRequest, TResponse>(string name, ApiCategory category, Marshaller<TRequest> request, MessageParser<TResponse> response,
        Func<TService, TRequest, ServerCallContext, Task<TResponse>> handle)
        where TRequest : class
        where TResponse : class, IMessage<TResponse>, new()
    {
        var method = Method(MethodType.Unary, name, request, ProtobufMarshallers.Create(response, maxSend));
        context.AddUnaryMethod(method, [category], async (service, message, call) =>
        {
            try
            {
                return await handle(service, message, call).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                throw GrpcErrors.Translate(e, call, logger);
            }
        });
    }

    /// <summary>Throws when <paramref name="declared"/> (the .proto file's service) has a method nothing bound.</summary>
    public void EnsureAllBound(ServiceDescriptor declared)
    {
        foreach (var method in declared.Methods)
        {
            if (!_bound.Contains(method.Name))
            {
                throw new InvalidOperationException($"{serviceName}/{method.Name} is declared by the .proto file but not served");
            }
        }
    }
}
