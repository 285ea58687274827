namespace InferenceServer.Core.Features;

/// <summary>How the feature stage ended for a request: the <c>outcome</c> label of <c>inference_server_feature_requests_total</c>.</summary>
public enum FeatureOutcome
{
    /// <summary>The inputs were made from the request and, for entities, the store.</summary>
    Ok,

    /// <summary>The request was refused: a field or key the view does not have, a value it cannot use, a missing value without a default.</summary>
    Invalid,

    /// <summary>An entity the request named is not in the online store.</summary>
    NotFound,

    /// <summary>The store (or the sidecar) failed and the view's defaults stood in for its values.</summary>
    Defaults,

    /// <summary>The store, the sidecar, or the server's connection to it failed, and the view answers 503 then (or there is no sidecar).</summary>
    Unavailable,
}
