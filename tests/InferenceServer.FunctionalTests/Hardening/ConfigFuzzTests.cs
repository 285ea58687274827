using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>
/// Model configs through the repository API. <c>config.pbtxt</c>: a mutated config is written into the repository's
/// model folder and loaded with <c>POST /v2/repository/models/fuzzcfg/load</c> (the text parser, the schema, the
/// limits, warm-up and file references). Uploads: a load with a mutated JSON config override and mutated
/// <c>file:</c> parameters and model names. A load must answer 200, 4xx, or 503 naming why the model did not load,
/// within the timeout, with no server path in the error; a model that loaded must serve without a 5xx; and after each
/// batch a valid config must load and serve correctly again.
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed partial class ConfigFuzzTests(FuzzServer server, ITestOutputHelper output)
{
    /// <summary>A config of add_sub that touches most of the schema.</summary>
    public const string ValidConfig = """
        name: "fuzzcfg"
        backend: "onnxruntime"
        max_batch_size: 4
        version_policy: { latest: { num_versions: 1 } }
        input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
        output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "OUTPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
        instance_group [ { count: 1 kind: KIND_CPU } ]
        dynamic_batching { max_queue_delay_microseconds: 100 preferred_batch_size: [ 2, 4 ] }
        model_warmup [ { name: "w" batch_size: 1 count: 1 inputs { key: "INPUT0" value: { data_type: TYPE_INT32 dims: [ 16 ] zero_data: true } } inputs { key: "INPUT1" value: { data_type: TYPE_INT32 dims: [ 16 ] random_data: true } } } ]
        parameters { key: "intra_op_thread_count" value: { string_value: "1" } }
        """;

    // What an attacker or a careless operator puts in a config; each is tried once (the first cases), as some are slow
    // to refuse by nature (a load that must give up).
    private static readonly string[] Snippets =
    [
        "instance_group [ { count: 2147483647 kind: KIND_CPU } ]",
        "model_warmup [ { name: \"big\" batch_size: 4294967295 count: 1 inputs { key: \"INPUT0\" value: { data_type: TYPE_INT32 dims: [ 2147483647, 2147483647 ] zero_data: true } } } ]",
        "model_warmup [ { name: \"many\" batch_size: 1 count: 100000000 inputs { key: \"INPUT0\" value: { data_type: TYPE_INT32 dims: [ 16 ] zero_data: true } } inputs { key: \"INPUT1\" value: { data_type: TYPE_INT32 dims: [ 16 ] zero_data: true } } } ]",
        "model_warmup [ { name: \"file\" batch_size: 1 inputs { key: \"INPUT0\" value: { data_type: TYPE_INT32 dims: [ 16 ] input_data_file: \"../../../../../../etc/passwd\" } } } ]",
        "default_model_filename: \"/etc/passwd\"",
        "default_model_filename: \"/etc/nonexistent\"",
        "default_model_filename: \"../../simple/1/model.onnx\"",
        "max_batch_size: -1",
        "input [ { name: \"INPUT0\" data_type: TYPE_INT32 dims: [ -2 ] } ]",
        "input [ { name: \"INPUT0\" data_type: TYPE_INT32 dims: [ 9223372036854775807, 9223372036854775807 ] } ]",
        "parameters { key: \"intra_op_thread_count\" value: { string_value: \"99999999\" } }",
        "parameters { key: \"inter_op_thread_count\" value: { string_value: \"-1\" } }",
        "dynamic_batching { max_queue_delay_microseconds: 18446744073709551615 preferred_batch_size: [ 2147483647 ] }",
        "version_policy: { specific: { versions: [ 9223372036854775807, -1 ] } }",
        "optimization { execution_accelerators { cpu_execution_accelerator: [ { name: \"openvino\" } ] } }",
        "backend: \"../../../../tmp/x\"",
        "platform: \"tensorrt_plan\"",
        "instance_group [ { count: 0 kind: KIND_CPU } ]",
        "instance_group [ { count: 1 kind: KIND_GPU gpus: [ 2147483647 ] } ]",
        "dynamic_batching { priority_levels: 4294967295 default_priority_level: 4294967295 }",
        "name: \"simple\"",
    ];

    private static readonly string[] Numbers =
    [
        "2147483647", "4294967295", "4294967296", "-1", "0", "9223372036854775807", "99999999999999999999", "1e39", "-2147483648",
        "65536", "1.5", "0x7fffffff", "-0", "nan", "inf", "1e", "--1", "017",
    ];

    private static readonly string[] Strings =
    [
        "\"\"", "\"../../etc/passwd\"", "\"/etc/shadow\"", "\"/etc/nonexistent\"", "\"" + new string('s', 5000) + "\"", "\"\\xff\\xfe\"", "\"\\000\"",
        "\"\\u0000\"", "\"model.onnx\\0\"", "\"fuzzcfg/../simple\"", "\"\\\"", "'single'", "\"INPUT0\"", "\"OUTPUT1\"", "\"\\377\\377\"",
    ];

    private static readonly string[] Words =
    [
        "TYPE_FP32", "TYPE_STRING", "TYPE_INVALID", "TYPE_BF16", "KIND_GPU", "KIND_MODEL", "unknown_field", "max_batch_size", "input", "true", "nan",
        "inf", "dims", "count", "name", "zero_data", "random_data",
    ];

    public static readonly string[] Names =
    [
        "number", "string", "word", "byte damage", "repeat a line", "delete a token", "deep nesting", "invalid UTF-8", "snippet", "truncate",
    ];

    [Fact]
    public async Task Config_pbtxt_through_the_repository_load()
    {
        var folder = Path.Combine(server.RepositoryPath, FuzzServer.ConfigModel);
        var report = await FuzzLoop.RunAsync(server, "config-pbtxt", 240, GeneratePbtxt, async (c, cancel) =>
        {
            await File.WriteAllBytesAsync(Path.Combine(folder, "config.pbtxt"), c.Bytes, cancel);
            return await LoadAsync(FuzzServer.ConfigModel, "", cancel);
        }, batchSize: 16, parallelism: 1, maxRestarts: 10, check: RestoreAsync);
        report.Finish(output);

        async Task<string?> RestoreAsync()
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "config.pbtxt"), ValidConfig);
            return await ValidLoadServesAsync(FuzzServer.ConfigModel, "");
        }
    }

    [Fact]
    public async Task Uploads_with_a_config_override()
    {
        var report = await FuzzLoop.RunAsync(server, "repository-upload", 160, GenerateUpload, async (c, cancel) =>
        {
            var model = (string)c.State!;
            return await LoadAsync(model, Encoding.UTF8.GetString(c.Bytes), cancel, c.Bytes);
        }, batchSize: 16, parallelism: 1, check: () => ValidLoadServesAsync("fuzzup", UploadBody(ValidJson("fuzzup"), [("1/model.onnx", AddSub)])));
        report.Finish(output);
    }

    private static readonly byte[] AddSub = TestRepository.Fixture("add_sub.onnx");

    private static FuzzCase GeneratePbtxt(Random random, int index)
    {
        var text = ValidConfig;
        var kind = index < Snippets.Length ? 8 : index < Snippets.Length + Names.Length * 10 ? index % Names.Length : random.Next(Names.Length);
        if (kind == 8 && index >= Snippets.Length)
        {
            // The slow snippets are tried once each, above; later cases take another mutation.
            kind = 0;
        }
        var tokens = Token().Matches(text).ToList();
        Match Pick(Func<Match, bool> which)
        {
            var found = tokens.Where(which).ToList();
            return found.Count > 0 ? found[random.Next(found.Count)] : tokens[random.Next(tokens.Count)];
        }
        string Swap(Match token, string with) => text[..token.Index] + with + text[(token.Index + token.Length)..];
        string what;
        byte[]? bytes = null;
        switch (kind)
        {
            case 0:
                var number = Pick(m => m.Value[0] is '-' or (>= '0' and <= '9'));
                var value = Numbers[random.Next(Numbers.Length)];
                text = Swap(number, value);
                what = $"number at {number.Index} -> {value}";
                break;
            case 1:
                var quoted = Pick(m => m.Value[0] == '"');
                var replacement = Strings[random.Next(Strings.Length)];
                text = Swap(quoted, replacement);
                what = $"string at {quoted.Index} -> {FuzzServer.Cut(replacement, 40)}";
                break;
            case 2:
                var word = Pick(m => char.IsAsciiLetter(m.Value[0]));
                var other = Words[random.Next(Words.Length)];
                text = Swap(word, other);
                what = $"word at {word.Index} -> {other}";
                break;
            case 4:
                var lines = text.Split('\n').ToList();
                var line = random.Next(lines.Count);
                lines.Insert(line, lines[line]);
                text = string.Join('\n', lines);
                what = $"line {line} twice";
                break;
            case 5:
                var gone = Pick(_ => true);
                text = Swap(gone, "");
                what = $"token '{gone.Value}' at {gone.Index} deleted";
                break;
            case 6:
                var depth = random.Next(2) == 0 ? 100 : 100_000;
                text += "\nparameters " + string.Concat(Enumerable.Repeat("{ key: \"x\" value: ", depth)) + string.Concat(Enumerable.Repeat("}", depth));
                what = $"a message nested {depth} deep";
                break;
            case 7:
                var inside = Pick(m => m.Value[0] == '"');
                bytes = [.. Encoding.UTF8.GetBytes(text[..(inside.Index + 1)]), 0xFF, 0xC3, 0x28, 0xED, 0xA0, 0x80, .. Encoding.UTF8.GetBytes(text[(inside.Index + 1)..])];
                what = $"invalid UTF-8 inside the string at {inside.Index}";
                break;
            case 8:
                var snippet = Snippets[index];
                text += "\n" + snippet;
                what = "added: " + FuzzServer.Cut(snippet, 120);
                break;
            case 9:
                text = text[..random.Next(text.Length)];
                what = $"cut to {text.Length} characters";
                break;
            default:
                var damage = random.Next(ByteMutator.Names.Length);
                bytes = ByteMutator.Mutate(Encoding.UTF8.GetBytes(text), random, damage);
                what = ByteMutator.Names[damage];
                break;
        }
        return new FuzzCase(index, bytes ?? Encoding.UTF8.GetBytes(text), $"config.pbtxt: {Names[kind]}: {what}");
    }

    // Upload file sets a careless or hostile client sends: names too long for the file system, a file where a folder
    // must go, names that differ only in case, many files, empty or garbage model files, odd version folders.
    private static readonly (string Path, byte[] Content)[][] FileSets =
    [
        [("1/" + new string('n', 300), AddSub)],
        [("1/a", AddSub), ("1/a/b", AddSub)],
        [("1/a/b", AddSub), ("1/a", AddSub)],
        [("1/model.onnx", AddSub), ("1/MODEL.onnx", AddSub)],
        [.. Enumerable.Range(0, 500).Select(i => ($"1/f{i}", new byte[1]))],
        [("1/model.onnx", [])],
        [("1/model.onnx", "garbage"u8.ToArray())],
        [("2/model.onnx", AddSub), ("1", AddSub)],
        [("config.pbtxt", "max_batch_size: -1"u8.ToArray()), ("1/model.onnx", AddSub)],
        [("1/model.onnx/x", AddSub)],
        [("1/" + string.Concat(Enumerable.Repeat("d/", 200)) + "model.onnx", AddSub)],
        [("1/\u00e9\u00e9/model.onnx", AddSub)],
        [("99999999999999999999/model.onnx", AddSub)],
        [("-1/model.onnx", AddSub)],
        [("1/" + new string('x', 255), AddSub)],
    ];

    private static FuzzCase GenerateUpload(Random random, int index)
    {
        var model = "fuzzup";
        var files = new List<(string Path, byte[] Content)> { ("1/model.onnx", AddSub) };
        var config = ValidJson(model);
        string what;
        // The first cases take each file set in turn, so a short run still tries every one.
        var kind = index < FileSets.Length ? 1 : random.Next(5);
        switch (kind)
        {
            case 0:
                (var mutated, what) = JsonMutator.MutateSome(Encoding.UTF8.GetBytes(config), random);
                // As a client would send it: the mutated text inside a JSON string (invalid UTF-8 becomes U+FFFD).
                config = Encoding.UTF8.GetString(mutated);
                what = "config: " + what;
                break;
            case 1:
                var set = index < FileSets.Length ? index : random.Next(FileSets.Length);
                files = [.. FileSets[set]];
                what = $"files: {string.Join(", ", files.Take(3).Select(f => FuzzServer.Cut(f.Path, 40)))}{(files.Count > 3 ? $" ... ({files.Count})" : "")}";
                break;
            case 2:
                string[] names = ["fuzz%2Fup", "..", "%2e%2e", "%00", new string('u', 300), "a%20b", "%C3%A9", "fuzzup%00x", ".hidden", "-", "%FF"];
                model = names[random.Next(names.Length)];
                what = $"model name '{FuzzServer.Cut(model, 30)}'";
                break;
            default:
                var body = Encoding.UTF8.GetBytes(UploadBody(config, files));
                (var outer, what) = JsonMutator.MutateSome(body, random);
                return new FuzzCase(index, outer, $"upload to '{model}': body: {what}") { State = model };
        }
        return new FuzzCase(index, Encoding.UTF8.GetBytes(UploadBody(config, files)), $"upload to '{FuzzServer.Cut(model, 30)}': {what}") { State = model };
    }

    private static string ValidJson(string model) => $$"""
        {"name": "{{model}}", "backend": "onnxruntime", "max_batch_size": 4,
         "input": [{"name": "INPUT0", "data_type": "TYPE_INT32", "dims": [16]}, {"name": "INPUT1", "data_type": "TYPE_INT32", "dims": [16]}],
         "output": [{"name": "OUTPUT0", "data_type": "TYPE_INT32", "dims": [16]}, {"name": "OUTPUT1", "data_type": "TYPE_INT32", "dims": [16]}],
         "instance_group": [{"count": 1, "kind": "KIND_CPU"}]}
        """;

    private static string UploadBody(string config, IEnumerable<(string Path, byte[] Content)> files)
    {
        var parameters = new Dictionary<string, string> { ["config"] = config };
        foreach (var (path, content) in files)
        {
            parameters["file:" + path] = Convert.ToBase64String(content);
        }
        return JsonSerializer.Serialize(new { parameters });
    }

    // A load, judged; a model that loaded must then serve a valid request without a 5xx.
    private async Task<FuzzVerdict> LoadAsync(string model, string body, CancellationToken cancel, byte[]? raw = null)
    {
        using var content = new ByteArrayContent(raw ?? Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await server.Http.PostAsync($"/v2/repository/models/{model}/load", content, cancel);
        var text = await response.Content.ReadAsStringAsync(cancel);
        var status = (int)response.StatusCode;
        var outcome = status.ToString(CultureInfo.InvariantCulture);
        if (text.Contains(server.RepositoryPath, StringComparison.Ordinal) || text.Contains(server.UploadPath, StringComparison.Ordinal) || text.Contains("/tmp/", StringComparison.Ordinal))
        {
            return new FuzzVerdict(outcome, "server path in error", $"{status}: {FuzzServer.Cut(text)}");
        }
        if (status == 503 && text.Contains("cannot be written", StringComparison.Ordinal))
        {
            // The fuzz uploads are small: a write that fails is the request's file names (too long, a file where a
            // folder must go), which is the client's error, not an unavailable server.
            return new FuzzVerdict(outcome, "5xx", $"{status} for the request's own files: {FuzzServer.Cut(text)}");
        }
        if (status == 400 && text.Length == 0 && response.Headers.ConnectionClose == true)
        {
            // Kestrel answers a request target it cannot parse (%00 in the model name: a NUL in the decoded path) itself,
            // before any middleware runs, with an empty body and a closed connection; ASP.NET Core offers no way to give
            // that answer a body (the raw-HTTP target accepts the same refusals, RawHttp.RefusedByKestrelParser).
            return new FuzzVerdict(outcome + " from Kestrel's parser");
        }
        if (status == 503 || status >= 400 && status < 500)
        {
            return text.Contains("\"error\"", StringComparison.Ordinal) ? new FuzzVerdict(outcome) : new FuzzVerdict(outcome, "empty error body", $"{status}: '{FuzzServer.Cut(text)}'");
        }
        if (status >= 500)
        {
            return new FuzzVerdict(outcome, "5xx", $"{status}: {FuzzServer.Cut(text)}");
        }
        if (status != 200 || model.Contains('%', StringComparison.Ordinal))
        {
            return new FuzzVerdict(outcome);
        }
        using var infer = await server.Http.PostAsync($"/v2/models/{model}/infer", new StringContent(Lifecycle.Lifecycle.AddSubRequest(), Encoding.UTF8, "application/json"), cancel);
        var answer = await infer.Content.ReadAsStringAsync(cancel);
        return (int)infer.StatusCode >= 500
            ? new FuzzVerdict(outcome + ", then infer " + (int)infer.StatusCode, "5xx", $"loaded, then infer answered {(int)infer.StatusCode}: {FuzzServer.Cut(answer)}")
            : new FuzzVerdict(outcome);
    }

    // Null when a valid load answers 200 and the model then adds correctly.
    private async Task<string?> ValidLoadServesAsync(string model, string body)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            using var response = await server.Http.PostAsync($"/v2/repository/models/{model}/load", new StringContent(body, Encoding.UTF8, "application/json"), timeout.Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return $"the valid config of '{model}' did not load: {(int)response.StatusCode} {FuzzServer.Cut(await response.Content.ReadAsStringAsync(timeout.Token))}";
            }
            using var infer = await server.Http.PostAsync($"/v2/models/{model}/infer", new StringContent(Lifecycle.Lifecycle.AddSubRequest(3), Encoding.UTF8, "application/json"), timeout.Token);
            var answer = await infer.Content.ReadAsStringAsync(timeout.Token);
            return infer.StatusCode == HttpStatusCode.OK && answer.Contains("[4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4]", StringComparison.Ordinal)
                ? null : $"'{model}' loaded with its valid config but answered {(int)infer.StatusCode}: {FuzzServer.Cut(answer)}";
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            return $"the valid config of '{model}': {e.GetType().Name}: {e.Message}";
        }
    }

    // Numbers, quoted strings, words, punctuation.
    [GeneratedRegex("""-?[0-9][0-9.eE+-]*|"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|[{}\[\]:,]""")]
    private static partial Regex Token();
}
