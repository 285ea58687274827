using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;
using InferenceServer.Protocols.Access;
using Microsoft.AspNetCore.Http;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// Refuses, with PERMISSION_DENIED, a call to a restricted category (<c>--grpc-restricted-protocol</c>) that does not
/// carry the group's metadata. The category is the endpoint's metadata, so it covers our service, health and
/// reflection alike. Registered only when something is restricted: an interceptor costs every call a little.
/// </summary>
internal sealed class RestrictedProtocolInterceptor(ApiAccess access) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            Check(context);
        }
        catch (RpcException)
        {
            // A request that holds something (an upload's files, read to disk with the request) lets it go: no handler will.
            (request as IDisposable)?.Dispose();
            throw;
        }
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Check(ServerCallContext context)
    {
        var category = context.GetHttpContext().GetEndpoint()?.Metadata.GetMetadata<ApiCategory>();
        if (access.Grpc.For(category) is { } restriction && !restriction.Allows(context.RequestHeaders.GetValue(restriction.Header)))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, restriction.Denial(category!)));
        }
    }
}
