using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace InferenceServer.FunctionalTests.Http;

/// <summary>Small helpers for talking the v2 REST protocol with a plain <see cref="HttpClient"/>.</summary>
internal static class V2Client
{
    public static async Task<(HttpResponseMessage Response, JsonNode? Body)> PostJsonAsync(this HttpClient client, string path, string json)
    {
        var response = await client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public static async Task<(HttpResponseMessage Response, JsonNode? Body)> GetJsonAsync(this HttpClient client, string path)
    {
        var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>Posts a binary-extension body: the JSON header followed by <paramref name="binary"/> blobs.</summary>
    public static async Task<BinaryResponse> PostBinaryAsync(this HttpClient client, string path, string json, params byte[][] binary)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var body = new MemoryStream();
        body.Write(header);
        foreach (var blob in binary)
        {
            body.Write(blob);
        }
        var content = new ByteArrayContent(body.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return await BinaryResponse.ReadAsync(await client.PostAsync(path, content));
    }

    /// <summary>The BYTES binary layout: 4-byte little-endian length + bytes per element.</summary>
    public static byte[] EncodeBytes(params byte[][] elements)
    {
        var stream = new MemoryStream();
        foreach (var element in elements)
        {
            stream.Write(BitConverter.GetBytes((uint)element.Length));
            stream.Write(element);
        }
        return stream.ToArray();
    }
}

/// <summary>A response that may carry binary outputs after its JSON header.</summary>
internal sealed class BinaryResponse
{
    public required HttpResponseMessage Response { get; init; }

    public required JsonNode? Json { get; init; }

    public required Dictionary<string, byte[]> Binary { get; init; }

    public static async Task<BinaryResponse> ReadAsync(HttpResponseMessage response)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var headerLength = bytes.Length;
        if (response.Headers.TryGetValues("Inference-Header-Content-Length", out var values))
        {
            headerLength = int.Parse(values.First(), System.Globalization.CultureInfo.InvariantCulture);
        }
        var json = headerLength == 0 ? null : JsonNode.Parse(bytes.AsSpan(0, headerLength));
        var binary = new Dictionary<string, byte[]>();
        var offset = headerLength;
        if (json?["outputs"] is JsonArray outputs)
        {
            foreach (var output in outputs)
            {
                if (output!["parameters"]?["binary_data_size"] is JsonNode size)
                {
                    var length = size.GetValue<int>();
                    binary[output["name"]!.GetValue<string>()] = bytes.AsSpan(offset, length).ToArray();
                    offset += length;
                }
            }
        }
        Assert.Equal(bytes.Length, offset);
        return new BinaryResponse { Response = response, Json = json, Binary = binary };
    }

    public JsonNode Output(string name) =>
        Json!["outputs"]!.AsArray().Single(o => o!["name"]!.GetValue<string>() == name)!;
}
