using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;

namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>
/// Judges a REST answer to a fuzzed request. A 5xx is a failure (the request caused it, so it is the client's error);
/// so is an error answer without a <c>{"error": ...}</c> body. A 200 must be a well-formed answer, and must not accept
/// what the request got wrong: a duplicate key, a value the datatype cannot hold (1e39 as FP32, 1.5 or 2^31 as INT32),
/// a datatype or an input the model does not have, or data that does not fill the shape. For simple (INT32 add/sub),
/// the answer's values are checked against the request's.
/// </summary>
internal static class RestOracle
{
    // Each input of the fuzz server's models and its datatype.
    internal static readonly Dictionary<string, string> InputTypes = new(StringComparer.Ordinal)
    {
        ["simple/INPUT0"] = "INT32", ["simple/INPUT1"] = "INT32", ["income/features"] = "FP32", ["text_upper/TEXT"] = "BYTES",
        ["half_scale/X"] = "FP16", ["identity/IN_BOOL"] = "BOOL", ["identity/IN_UINT8"] = "UINT8", ["identity/IN_UINT16"] = "UINT16",
        ["identity/IN_UINT32"] = "UINT32", ["identity/IN_UINT64"] = "UINT64", ["identity/IN_INT8"] = "INT8", ["identity/IN_INT16"] = "INT16",
        ["identity/IN_INT32"] = "INT32", ["identity/IN_INT64"] = "INT64", ["identity/IN_FLOAT16"] = "FP16", ["identity/IN_BFLOAT16"] = "BF16",
        ["identity/IN_FLOAT"] = "FP32", ["identity/IN_DOUBLE"] = "FP64", ["identity/IN_STRING"] = "BYTES",
        ["fuzzcfg/INPUT0"] = "INT32", ["fuzzcfg/INPUT1"] = "INT32", ["fuzzup/INPUT0"] = "INT32", ["fuzzup/INPUT1"] = "INT32",
    };

    /// <summary>The verdict on <paramref name="status"/> and <paramref name="body"/>; <paramref name="requestJson"/> is the request's JSON (the header of a binary one).</summary>
    public static FuzzVerdict Judge(int status, byte[] body, int? headerLength, string model, byte[] requestJson, bool binaryRequest)
    {
        var outcome = status.ToString(CultureInfo.InvariantCulture);
        var text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 400));
        if (status >= 500)
        {
            return new FuzzVerdict(outcome, "5xx", $"{status}: {FuzzServer.Cut(text)}");
        }
        if (status >= 400)
        {
            return ErrorBody(body) ? new FuzzVerdict(outcome) : new FuzzVerdict(outcome, "empty error body", $"{status} with body '{FuzzServer.Cut(text)}'");
        }
        if (status != 200)
        {
            return new FuzzVerdict(outcome);
        }
        var answer = WellFormed(body, headerLength);
        if (answer is not null)
        {
            return new FuzzVerdict(outcome, "malformed 200", answer);
        }
        var accepted = WhatShouldHaveBeenRefused(model, requestJson, binaryRequest, body, headerLength);
        return accepted is null ? new FuzzVerdict(outcome) : new FuzzVerdict(outcome, "wrong 200", accepted);
    }

    private static bool ErrorBody(byte[] body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String && error.GetString()!.Length > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    // Null when the answer's JSON parses and each output's data (or binary size) fills its shape.
    private static string? WellFormed(byte[] body, int? headerLength)
    {
        try
        {
            var length = headerLength ?? body.Length;
            using var json = JsonDocument.Parse(body.AsMemory(0, length));
            var binary = body.Length - length;
            var binaryTotal = 0L;
            foreach (var output in json.RootElement.GetProperty("outputs").EnumerateArray())
            {
                var count = 1L;
                foreach (var dim in output.GetProperty("shape").EnumerateArray())
                {
                    count *= dim.GetInt64();
                }
                if (output.TryGetProperty("data", out var data) && data.GetArrayLength() != count)
                {
                    return $"output '{output.GetProperty("name")}' has shape of {count} elements but {data.GetArrayLength()} values";
                }
                if (output.TryGetProperty("parameters", out var parameters) && parameters.TryGetProperty("binary_data_size", out var size))
                {
                    binaryTotal += size.GetInt64();
                }
            }
            return binaryTotal == binary ? null : $"the binary outputs declare {binaryTotal} bytes but {binary} follow the JSON";
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or ArgumentOutOfRangeException or FormatException)
        {
            return $"the answer is not a valid inference response: {e.Message}";
        }
    }

    // What a 200 accepted that it should have refused; null when nothing (or when the request is too damaged to tell).
    private static string? WhatShouldHaveBeenRefused(string model, byte[] requestJson, bool binaryRequest, byte[] body, int? headerLength)
    {
        JsonDocument request;
        try
        {
            request = JsonDocument.Parse(requestJson, new JsonDocumentOptions { MaxDepth = 10_000 });
        }
        catch (JsonException)
        {
            // The server read a request that is not JSON to us (e.g. a binary header whose length was mutated); judged by the answer's form only.
            return null;
        }
        using (request)
        {
            if (Duplicate(request.RootElement) is { } duplicate)
            {
                return $"the request has the key '{duplicate}' twice";
            }
            if (request.RootElement.ValueKind != JsonValueKind.Object || !request.RootElement.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Array)
            {
                return "the request has no inputs array";
            }
            var values = new Dictionary<string, List<BigInteger>>(StringComparer.Ordinal);
            foreach (var input in inputs.EnumerateArray())
            {
                if (input.ValueKind != JsonValueKind.Object || !input.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String)
                {
                    return "an input has no name";
                }
                var name = nameElement.GetString()!;
                if (!InputTypes.TryGetValue($"{model}/{name}", out var expected))
                {
                    return $"input '{name}' is not an input of '{model}'";
                }
                if (!input.TryGetProperty("datatype", out var datatype) || datatype.ValueKind != JsonValueKind.String || datatype.GetString() != expected)
                {
                    return $"input '{name}' is {expected} but the request says {(input.TryGetProperty("datatype", out var d) ? d.GetRawText() : "nothing")}";
                }
                if (!input.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array)
                {
                    return $"input '{name}' has no shape";
                }
                var count = BigInteger.One;
                foreach (var dim in shape.EnumerateArray())
                {
                    if (dim.ValueKind != JsonValueKind.Number || !BigInteger.TryParse(dim.GetRawText(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var size) || size < 0)
                    {
                        return $"input '{name}' has the dimension {dim.GetRawText()}";
                    }
                    count *= size;
                }
                if (binaryRequest && input.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("binary_data_size", out _))
                {
                    continue;
                }
                if (!input.TryGetProperty("data", out var data))
                {
                    return $"input '{name}' has no data";
                }
                var flat = new List<JsonElement>();
                Flatten(data, flat);
                if (flat.Count != count)
                {
                    return $"input '{name}' has shape of {count} elements but {flat.Count} values";
                }
                var parsed = new List<BigInteger>();
                foreach (var value in flat)
                {
                    if (Refusable(expected, value) is { } why)
                    {
                        return $"input '{name}' ({expected}) holds {FuzzServer.Cut(value.GetRawText(), 60)}: {why}";
                    }
                    if (expected == "INT32")
                    {
                        parsed.Add(BigInteger.TryParse(value.GetRawText(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole)
                            ? whole : new BigInteger(double.Parse(value.GetRawText(), CultureInfo.InvariantCulture)));
                    }
                }
                values[name] = parsed;
            }
            return model == "simple" && values.TryGetValue("INPUT0", out var a) && values.TryGetValue("INPUT1", out var b) && a.Count == b.Count
                ? SimpleArithmetic(a, b, body, headerLength)
                : null;
        }
    }

    // OUTPUT0 = INPUT0 + INPUT1 and OUTPUT1 = INPUT0 - INPUT1, wrapped to INT32 as ONNX's Add and Sub do.
    private static string? SimpleArithmetic(List<BigInteger> a, List<BigInteger> b, byte[] body, int? headerLength)
    {
        using var json = JsonDocument.Parse(body.AsMemory(0, headerLength ?? body.Length));
        foreach (var output in json.RootElement.GetProperty("outputs").EnumerateArray())
        {
            if (!output.TryGetProperty("data", out var data))
            {
                continue;
            }
            var add = output.GetProperty("name").GetString() == "OUTPUT0";
            var i = 0;
            foreach (var value in data.EnumerateArray())
            {
                var expected = unchecked(add ? (int)a[i] + (int)b[i] : (int)a[i] - (int)b[i]);
                if (value.GetInt32() != expected)
                {
                    return $"{output.GetProperty("name").GetString()}[{i}] is {value.GetInt32()}, expected {expected}";
                }
                i++;
            }
        }
        return null;
    }

    private static void Flatten(JsonElement element, List<JsonElement> into)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                Flatten(item, into);
            }
        }
        else
        {
            into.Add(element);
        }
    }

    // Why a value cannot be an element of the datatype, or null.
    private static string? Refusable(string datatype, JsonElement value)
    {
        switch (datatype)
        {
            case "BYTES":
                return value.ValueKind == JsonValueKind.String ? null : "not a string";
            case "BOOL":
                return value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : "not true or false";
        }
        var isFloat = datatype is "FP16" or "BF16" or "FP32" or "FP64";
        if (isFloat && value.ValueKind == JsonValueKind.String)
        {
            // How the protocol writes the values JSON has no number for.
            return value.GetString() is "NaN" or "Infinity" or "-Infinity" ? null : "not a number";
        }
        if (value.ValueKind != JsonValueKind.Number)
        {
            return "not a number";
        }
        var raw = value.GetRawText();
        var real = double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture);
        var (low, high) = datatype switch
        {
            "UINT8" => (0d, 255d), "UINT16" => (0d, 65535d), "UINT32" => (0d, 4294967295d), "UINT64" => (0d, 18446744073709551615d),
            "INT8" => (-128d, 127d), "INT16" => (-32768d, 32767d), "INT32" => (-2147483648d, 2147483647d), "INT64" => (-9223372036854775808d, 9223372036854775807d),
            "FP16" => (-65519.99d, 65519.99d), "BF16" or "FP32" => (-3.4028235677973366e38d, 3.4028235677973366e38d),
            _ => (double.MinValue, double.MaxValue),
        };
        if (isFloat)
        {
            return double.IsFinite(real) && real >= low && real <= high ? null : "out of range (would be infinity)";
        }
        // Integers: exact, so 2^63 is caught even though it rounds to a double inside the range.
        if (!BigInteger.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
        {
            if (real != Math.Floor(real) || !double.IsFinite(real))
            {
                return "not a whole number";
            }
            whole = new BigInteger(real);
        }
        var (min, max) = datatype switch
        {
            "UINT64" => (BigInteger.Zero, (BigInteger)ulong.MaxValue),
            "INT64" => ((BigInteger)long.MinValue, (BigInteger)long.MaxValue),
            _ => (new BigInteger(low), new BigInteger(high)),
        };
        return whole >= min && whole <= max ? null : "out of range";
    }

    // A property name that occurs twice in one object, anywhere in the document.
    private static string? Duplicate(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    if (!seen.Add(property.Name))
                    {
                        return property.Name;
                    }
                    if (Duplicate(property.Value) is { } inner)
                    {
                        return inner;
                    }
                }
                return null;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (Duplicate(item) is { } inner)
                    {
                        return inner;
                    }
                }
                return null;
            default:
                return null;
        }
    }
}
