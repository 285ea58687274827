using System.Collections.Frozen;

namespace InferenceServer.Grpc;

/// <summary>
/// The methods a server answers, by path (<c>/package.Service/Method</c>, case-sensitive). Fill it at startup, then
/// mount it with <see cref="GrpcApplicationBuilderExtensions.UseGrpc"/>; it is frozen on first use.
/// </summary>
public sealed class GrpcServiceRegistry
{
    private readonly Dictionary<string, GrpcMethod> _methods = new(StringComparer.Ordinal);
    private FrozenDictionary<string, GrpcMethod>? _frozen;

    /// <summary>Registers a unary method.</summary>
    public GrpcServiceRegistry AddUnary(string service, string method, GrpcUnaryHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Add(new GrpcMethod(PathOf(service, method), handler, null));
        return this;
    }

    /// <summary>Registers a bidirectional streaming method.</summary>
    public GrpcServiceRegistry AddDuplexStreaming(string service, string method, GrpcDuplexStreamingHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Add(new GrpcMethod(PathOf(service, method), null, handler));
        return this;
    }

    /// <summary>Finds a method by request path; lock-free once frozen.</summary>
    internal bool TryFind(string path, out GrpcMethod method)
    {
        var frozen = _frozen ?? Freeze();
        return frozen.TryGetValue(path, out method!);
    }

    internal FrozenDictionary<string, GrpcMethod> Freeze()
    {
        lock (_methods)
        {
            return _frozen ??= _methods.ToFrozenDictionary(StringComparer.Ordinal);
        }
    }

    private void Add(GrpcMethod method)
    {
        lock (_methods)
        {
            if (_frozen is not null)
            {
                throw new InvalidOperationException("Methods cannot be added once the server has started serving.");
            }
            if (!_methods.TryAdd(method.Path, method))
            {
                throw new InvalidOperationException($"Method '{method.Path}' is already registered.");
            }
        }
    }

    private static string PathOf(string service, string method)
    {
        ArgumentException.ThrowIfNullOrEmpty(service);
        ArgumentException.ThrowIfNullOrEmpty(method);
        if (service.Contains('/') || method.Contains('/'))
        {
            throw new ArgumentException("Service and method names cannot contain '/'.");
        }
        return "/" + service + "/" + method;
    }
}
