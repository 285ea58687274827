using InferenceServer.Protocols.Grpc;
using InferenceServer.Protocols.Http;
using Microsoft.Extensions.Options;

namespace InferenceServer.Protocols.Access;

/// <summary>
/// The restricted-API settings of both front-ends, parsed once at startup: <c>--http-restricted-api</c>
/// (<c>Http:RestrictedApi</c>; its groups may also name <c>metrics</c>, which restricts <c>/metrics</c>) and
/// <c>--grpc-restricted-protocol</c> (<c>Grpc:RestrictedProtocol</c>). As in Triton, the REST header is the key itself
/// and the gRPC metadata key is <c>triton-grpc-protocol-&lt;key&gt;</c>.
/// </summary>
public sealed class ApiAccess
{
    /// <summary>The prefix of the gRPC metadata key that carries a restricted group's value (Triton's).</summary>
    public const string GrpcHeaderPrefix = "triton-grpc-protocol-";

    /// <summary>The categories <c>--http-restricted-api</c> may name: Triton's and <c>metrics</c>.</summary>
    public static IReadOnlyList<ApiCategory> RestCategories { get; } = [.. ApiCategory.Triton, ApiCategory.Metrics];

    /// <summary>Parses both settings; throws <see cref="ArgumentException"/> naming the setting that is wrong.</summary>
    public ApiAccess(IOptions<HttpProtocolOptions> http, IOptions<GrpcProtocolOptions> grpc)
    {
        Rest = ParseRest(http.Value.RestrictedApi, "--http-restricted-api (Http:RestrictedApi)");
        Grpc = ParseGrpc(grpc.Value.RestrictedProtocol, "--grpc-restricted-protocol (Grpc:RestrictedProtocol)");
    }

    /// <summary>Parses REST groups; <paramref name="setting"/> names them in the error.</summary>
    public static ApiRestrictions ParseRest(IEnumerable<string> groups, string setting) =>
        ApiRestrictions.Parse(groups, setting, RestCategories, static key => key);

    /// <summary>Parses gRPC groups; <paramref name="setting"/> names them in the error.</summary>
    public static ApiRestrictions ParseGrpc(IEnumerable<string> groups, string setting) =>
        ApiRestrictions.Parse(groups, setting, ApiCategory.Triton, static key => GrpcHeaderPrefix + key.ToLowerInvariant());

    /// <summary>The REST port's restrictions, and the metrics port's (category <c>metrics</c>).</summary>
    public ApiRestrictions Rest { get; }

    /// <summary>The gRPC port's restrictions.</summary>
    public ApiRestrictions Grpc { get; }
}
