using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.FunctionalTests.Access;

/// <summary>Credentials, requests and metric reads the access tests share.</summary>
internal static partial class AccessClient
{
    /// <summary>A token's SHA-256 as the settings hold it, computed here rather than with the server's code.</summary>
    public static string Hash(string secret) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret))).ToLowerInvariant();

    /// <summary>The settings entry of a token: <c>name:sha256:scopes</c>.</summary>
    public static string Entry(string name, string secret, string scopes) => $"{name}:{Hash(secret)}:{scopes}";

    /// <summary>Sends a request, with <paramref name="bearer"/> as <c>Authorization: Bearer</c> and any <paramref name="headers"/>.</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string? body = null, string? bearer = null,
        params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        return await client.SendAsync(request);
    }

    /// <summary>gRPC metadata carrying <paramref name="bearer"/> as the <c>authorization</c> header; none for null.</summary>
    public static Metadata Bearer(string? bearer) => bearer is null ? new Metadata() : new Metadata { { "authorization", "Bearer " + bearer } };

    /// <summary>add_sub's request over gRPC (zeros and zeros).</summary>
    public static ModelInferRequest AddSubGrpcRequest(string model)
    {
        var request = new ModelInferRequest { ModelName = model };
        foreach (var name in new[] { "INPUT0", "INPUT1" })
        {
            var input = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = "INT32" };
            input.Shape.AddRange([1, 16]);
            request.Inputs.Add(input);
            request.RawInputContents.Add(ByteString.CopyFrom(new byte[64]));
        }
        return request;
    }

    /// <summary>The value of <c>inference_server_refused_requests_total</c> for a scope and reason in a scrape; 0 when absent.</summary>
    public static double Refused(string scrape, string category, string reason)
    {
        foreach (Match line in RefusedLine().Matches(scrape))
        {
            if (line.Groups["labels"].Value.Contains($"category=\"{category}\"", StringComparison.Ordinal)
                && line.Groups["labels"].Value.Contains($"reason=\"{reason}\"", StringComparison.Ordinal))
            {
                return double.Parse(line.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }

    /// <summary>Polls <paramref name="condition"/> every 50 ms until it holds; fails naming <paramref name="what"/> after <paramref name="seconds"/>.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{what} did not happen within {seconds} s");
            }
            await Task.Delay(50);
        }
    }

    [GeneratedRegex(@"^inference_server_refused_requests_total\{(?<labels>[^}]*)\} (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex RefusedLine();
}
