namespace InferenceServer.Protocols.Access;

/// <summary>One mapping of <see cref="AuthOptions.ClientCertificates"/>: a client certificate subject and the scopes it is granted.</summary>
public sealed class ClientCertificateScopes
{
    /// <summary>The certificate's subject distinguished name, e.g. <c>CN=batch-client, O=Example</c>.</summary>
    public string Subject { get; set; } = "";

    /// <summary>Comma-separated scopes (<c>infer,metadata</c>) or <c>*</c>.</summary>
    public string Scopes { get; set; } = "";
}
