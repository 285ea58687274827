using System.Text.RegularExpressions;
using InferenceServer.Core.Features.Sidecar;
using Parquet;
using Parquet.Schema;
using StackExchange.Redis;

namespace InferenceServer.FunctionalTests.Features.Sidecar;

/// <summary>
/// <c>feature-sidecar materialize</c> as a process: CSV and Parquet files into a real Redis and into the embedded file
/// store, checked value by value (and served back by a real sidecar); bad rows named and skipped; a missing column or
/// an unreachable store ends the run with a message.
/// </summary>
public sealed partial class MaterializeTests : IAsyncLifetime
{
    private const string KeyPattern = "income:{id}";
    private const string FieldList = "age,workclass,hours-per-week";
    private static readonly string[] Fields = ["age", "workclass", "hours-per-week"];

    private RedisServer _redis = null!;
    private readonly string _folder = Directory.CreateTempSubdirectory("materialize-").FullName;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private string Csv(string text)
    {
        var path = Path.Combine(_folder, "records.csv");
        File.WriteAllText(path, text);
        return path;
    }

    private static string[] Materialize(string from, string store, params string[] more) =>
        ["materialize", "--view", "income", "--from", from, "--store", store, "--key-pattern", KeyPattern, "--fields", FieldList, .. more];

    private const string Records = """
        id,age,workclass,education,hours-per-week
        1,39,State-gov,Bachelors,40
        2, 50 ,"Self-emp-not-inc",Bachelors,13
        ,38,Private,HS-grad,40
        4,53,,11th,40
        5,28
        6,37,"Private, large",Masters,40
        """;

    [Fact]
    public async Task CsvIntoRedisWritesEveryGoodRowAndNamesTheBadOnes()
    {
        var csv = Csv(Records);
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var (exitCode, process) = await SidecarProcess.RunAsync(Materialize(csv, _redis.Address, "--ttl", "1h", "--batch-size", "2"));
        using var _ = process;

        Assert.Equal(0, exitCode);
        Assert.Contains(process.Output, l => Summary().IsMatch(l) && l.Contains("materialized 4 rows of view income", StringComparison.Ordinal) && l.Contains("2 bad rows skipped", StringComparison.Ordinal));
        Assert.Equal([$"{csv}:4: id: the entity key is empty", $"{csv}:6: the row has 2 cells; the header has 5"], process.Error);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.Endpoint);
        var database = redis.GetDatabase();
        Assert.Equal(4, (long)await database.ExecuteAsync("DBSIZE"));
        AssertValues(["39", "State-gov", "40"], Strings(await database.HashGetAsync("income:1", Fields.Select(f => (RedisValue)f).ToArray())));
        // Cells are trimmed and unquoted; an empty cell is an absent field.
        AssertValues(["50", "Self-emp-not-inc", "13"], Strings(await database.HashGetAsync("income:2", Fields.Select(f => (RedisValue)f).ToArray())));
        AssertValues(["53", null, "40"], Strings(await database.HashGetAsync("income:4", Fields.Select(f => (RedisValue)f).ToArray())));
        Assert.Equal("Private, large", (string?)await database.HashGetAsync("income:6", "workclass"));
        Assert.False(await database.HashExistsAsync("income:1", "education"));
        var storedAt = (long)await database.HashGetAsync("income:1", "_stored_at");
        Assert.InRange(storedAt, before, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.InRange(await database.KeyTimeToLiveAsync("income:6") ?? TimeSpan.Zero, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task ARowLoadedAgainReplacesTheEntitysFields()
    {
        await SidecarProcess.RunAsync(Materialize(Csv(Records), _redis.Address));
        var (exitCode, process) = await SidecarProcess.RunAsync(Materialize(Csv("id,age,workclass,hours-per-week\n1,40,,41\n"), _redis.Address));
        using var _ = process;

        Assert.Equal(0, exitCode);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.Endpoint);
        AssertValues(["40", null, "41"], Strings(await redis.GetDatabase().HashGetAsync("income:1", Fields.Select(f => (RedisValue)f).ToArray())));
        Assert.Null(await redis.GetDatabase().KeyTimeToLiveAsync("income:1"));
    }

    [Fact]
    public async Task ParquetIntoRedisWritesEveryRowOfEveryRowGroupAsInvariantText()
    {
        var parquet = Path.Combine(_folder, "records.parquet");
        await WriteParquetAsync(parquet);

        var (exitCode, process) = await SidecarProcess.RunAsync(Materialize(parquet, _redis.Address));
        using var _ = process;

        Assert.True(exitCode == 0, string.Join(" | ", process.Error));
        Assert.Contains(process.Output, l => l.Contains("materialized 3 rows of view income", StringComparison.Ordinal));
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.Endpoint);
        var database = redis.GetDatabase();
        AssertValues(["39", "State-gov", "40.5"], Strings(await database.HashGetAsync("income:a1", Fields.Select(f => (RedisValue)f).ToArray())));
        AssertValues(["50", null, "13"], Strings(await database.HashGetAsync("income:a2", Fields.Select(f => (RedisValue)f).ToArray())));
        AssertValues(["28", "Private", null], Strings(await database.HashGetAsync("income:b1", Fields.Select(f => (RedisValue)f).ToArray())));
    }

    [Fact]
    public async Task TheFileStoreServesWhatMaterializeWroteAcrossARestart()
    {
        var store = "file:" + Path.Combine(_folder, "store", "features.msgpack");
        var (csvExit, csvRun) = await SidecarProcess.RunAsync(Materialize(Csv(Records), store));
        using var _ = csvRun;
        var parquet = Path.Combine(_folder, "records.parquet");
        await WriteParquetAsync(parquet);
        var (parquetExit, parquetRun) = await SidecarProcess.RunAsync(Materialize(parquet, store));
        using var __ = parquetRun;
        Assert.True(csvExit == 0, string.Join(" | ", csvRun.Error));
        Assert.True(parquetExit == 0, string.Join(" | ", parquetRun.Error));

        var socket = Path.Combine(_folder, "sidecar.sock");
        for (var run = 0; run < 2; run++)
        {
            using var sidecar = await SidecarProcess.ServeAsync(socket, store);
            await using (var client = await WireClient.ConnectAsync(socket))
            {
                var answer = await client.LookupAsync(1, Fields, ["income:1", "income:4", "income:a1", "income:3"]);

                Assert.Equal(SidecarStatus.Ok, answer.Status);
                AssertValues(["39", "State-gov", "40"], answer.Rows[0].Values);
                AssertValues(["53", null, "40"], answer.Rows[1].Values);
                AssertValues(["39", "State-gov", "40.5"], answer.Rows[2].Values);
                Assert.Equal(0, answer.Rows[3].StoredAt);
                Assert.True(answer.Rows[0].StoredAt > 0);
            }
            sidecar.Terminate();
            Assert.Equal(0, await sidecar.WaitForExitAsync());
        }
    }

    [Fact]
    public async Task AMissingColumnOrAnUnreachableStoreEndsTheRunWithAMessage()
    {
        var (noColumn, first) = await SidecarProcess.RunAsync(Materialize(Csv("id,age,workclass\n1,39,State-gov\n"), _redis.Address));
        using var _ = first;
        _redis.Kill();
        var (noStore, second) = await SidecarProcess.RunAsync(Materialize(Csv(Records), _redis.Address));
        using var __ = second;

        Assert.Equal(1, noColumn);
        Assert.Contains(first.Error, l => l.Contains("has no column 'hours-per-week'; its columns are id, age, workclass", StringComparison.Ordinal));
        Assert.Equal(1, noStore);
        Assert.Contains(second.Error, l => l.Contains($"cannot connect to the Redis at {_redis.Address}", StringComparison.Ordinal));
    }

    private static async Task WriteParquetAsync(string path)
    {
        var schema = new ParquetSchema(
            new DataField<string>("id"), new DataField<int>("age"), new DataField<string>("workclass"), new DataField<double?>("hours-per-week"));
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(schema, stream);
        // Two row groups, nulls in both kinds of column.
        using (var group = writer.CreateRowGroup())
        {
            await group.WriteAsync(schema.DataFields[0], ["a1", "a2"]);
            await group.WriteAsync<int>(schema.DataFields[1], new[] { 39, 50 });
            await group.WriteAsync(schema.DataFields[2], ["State-gov", null!]);
            await group.WriteAsync<double>(schema.DataFields[3], new double?[] { 40.5, 13 });
        }
        using (var group = writer.CreateRowGroup())
        {
            await group.WriteAsync(schema.DataFields[0], ["b1"]);
            await group.WriteAsync<int>(schema.DataFields[1], new[] { 28 });
            await group.WriteAsync(schema.DataFields[2], ["Private"]);
            await group.WriteAsync<double>(schema.DataFields[3], new double?[] { null });
        }
    }

    // Values with absent ones (null) compared as sequences: xUnit's array overloads refuse nullable elements.
    private static void AssertValues(IEnumerable<string?> expected, IEnumerable<string?> actual) => Assert.Equal(expected, actual);

    private static string?[] Strings(RedisValue[] values) => values.Select(v => v.IsNull ? null : (string?)v).ToArray();

    [GeneratedRegex(@"^materialized \d+ rows of view \S+ from .+ into .+ in \d+\.\d\d s \(\d+ rows/s\); \d+ bad rows skipped$")]
    private static partial Regex Summary();
}
