using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Routing;

/// <summary>
/// What a request carries besides the model and version it names, for the routing policy to choose by: its headers,
/// its parameters, its decoded inputs (a route's routing key may be one), and a routing key a caller may set (an
/// entity id for sticky routing, say). The default value carries nothing, and a model without a route reads none of it.
/// </summary>
public readonly struct RoutingContext
{
    /// <summary>A context with the request's headers, parameters and, once decoded, inputs.</summary>
    public RoutingContext(RequestHeaders headers, IReadOnlyDictionary<string, string>? parameters, string? routingKey = null, IReadOnlyList<Tensor>? inputs = null)
    {
        Headers = headers;
        Parameters = parameters;
        RoutingKey = routingKey;
        Inputs = inputs;
    }

    /// <summary>The request's headers (HTTP headers or gRPC metadata).</summary>
    public RequestHeaders Headers { get; }

    /// <summary>The request's parameters other than those the server itself acts on, as text; null when it has none.</summary>
    public IReadOnlyDictionary<string, string>? Parameters { get; }

    /// <summary>A key that requests to be routed alike share; null when the caller gives none.</summary>
    public string? RoutingKey { get; }

    /// <summary>The request's decoded input tensors; null when the request is routed before its body is decoded.</summary>
    public IReadOnlyList<Tensor>? Inputs { get; }
}
