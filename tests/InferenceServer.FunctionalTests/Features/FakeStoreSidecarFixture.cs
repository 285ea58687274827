using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using InferenceServer.Core.Features.Sidecar;

namespace InferenceServer.FunctionalTests.Features;

/// <summary>
/// The income samples served with <c>--feature-sidecar</c> pointing at a stand-in sidecar on a real Unix socket, whose
/// store is a dictionary the tests fill: entity <c>7</c> is the first example record, <c>8</c> the second, <c>old</c>
/// the first written 31 days ago (past income's 30-day TTL); the key <c>income:down</c> answers that the store is
/// unavailable; any other entity is not found.
/// </summary>
public sealed partial class FakeStoreSidecarFixture : TestServerFixture, IAsyncLifetime
{
    private readonly string _path = FakeSidecar.NewPath();
    private readonly ConcurrentDictionary<string, (long StoredAt, JsonObject Record)> _store = new(StringComparer.Ordinal);
    private FakeSidecar? _sidecar;

    internal FakeSidecar Sidecar => _sidecar!;

    public string SocketPath => _path;

    protected override (string Key, string Value)[] Settings => [("FeatureSidecar:Path", _path)];

    private protected override void Populate(TestRepository repository)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        _store["income:7"] = (now, IncomeRecords.Record(0));
        _store["income:8"] = (now, IncomeRecords.Record(1));
        _store["income:old"] = (now - (long)TimeSpan.FromDays(31).TotalMilliseconds, IncomeRecords.Record(0));
        _sidecar = FakeSidecar.Start(_path, Reply);
        repository.AddSample("income").AddSample("income_gbt").AddSample("income_ab");
        RelaxLookupTimeout(repository.Path);
    }

    /// <summary>The lookup timeout of the income view in <paramref name="repository"/>, raised from the sample's 100 ms.</summary>
    public const uint LookupTimeoutMs = 5000;

    // A test machine busy with other tests may take longer than the sample's 100 ms to schedule a lookup's answer.
    internal static void RelaxLookupTimeout(string repository)
    {
        var file = Path.Combine(repository, "income", "features.pbtxt");
        var text = File.ReadAllText(file);
        var relaxed = TimeoutSetting().Replace(text, $"timeout_ms: {LookupTimeoutMs}", 1);
        Assert.NotEqual(text, relaxed);
        File.WriteAllText(file, relaxed);
    }

    private FakeReply Reply(SidecarLookup lookup)
    {
        if (lookup.Keys.Contains("income:down"))
        {
            return new FakeReply(SidecarStatus.StoreUnavailable, "the circuit breaker is open after 5 failures: redis://127.0.0.1:6399 refused the connection", []);
        }
        return FakeSidecar.Rows([.. lookup.Keys.Select(key => _store.TryGetValue(key, out var entity)
            ? (entity.StoredAt, lookup.Fields.Select(field => Text(entity.Record[field])).ToArray())
            : (0L, new string?[lookup.Fields.Length]))]);
    }

    // The store keeps every value as invariant text, as materialize writes it.
    private static string? Text(JsonNode? value) => value is null ? null
        : value.GetValueKind() == JsonValueKind.Number ? IncomeRecords.Number(value).ToString("R", CultureInfo.InvariantCulture)
        : value.GetValue<string>();

    // The server first, then its sidecar (the base class's dispose is not virtual, so the interface is taken over here).
    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        if (_sidecar is not null)
        {
            await _sidecar.DisposeAsync();
        }
    }

    [GeneratedRegex(@"timeout_ms: \d+")]
    private static partial Regex TimeoutSetting();
}
