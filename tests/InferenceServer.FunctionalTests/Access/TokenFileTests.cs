using System.Net;
using InferenceServer.FunctionalTests.Grpc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static InferenceServer.FunctionalTests.Access.AccessClient;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Access;

/// <summary>A file of hashed tokens, read again when it changes: new tokens work and removed ones stop, without a restart.</summary>
public sealed class TokenFileTests : IDisposable
{
    private const string Old = "old-token-8d969eef6ecad3c29a3a";
    private const string New = "new-token-1f3870be274f6c49b3e3";
    private readonly string _directory = Directory.CreateTempSubdirectory("token-file-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task ATokenFileIsReadAgainWhenItChangesAndABadVersionKeepsTheLastGood()
    {
        var file = Path.Combine(_directory, "tokens");
        await File.WriteAllTextAsync(file, $"# who:sha256:scopes\n{Entry("old", Old, "infer,metadata")}\n\n");
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        var log = new CapturedLog();
        await using var server = await RunningServer.StartAsync(repository.Path, s => s.AddSingleton<ILoggerProvider>(log),
            ("Auth:TokenFile", file), ("Logging:LogLevel:InferenceServer.Protocols.Access", "Information"));

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(server, Old));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(server, New));

        // Replaced as a deployment would: a new file renamed over the old one.
        var next = Path.Combine(_directory, "tokens.next");
        await File.WriteAllTextAsync(next, Entry("new", New, "metadata") + "\n");
        File.Move(next, file, overwrite: true);
        await EventuallyAsync(async () => await StatusAsync(server, New) == HttpStatusCode.OK, "the new token accepted");
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(server, Old));

        // Written in place with a mistake: logged, and the tokens read last stay.
        await File.WriteAllTextAsync(file, "new:not-a-hash:metadata\n");
        await EventuallyAsync(() => Task.FromResult(log.Entries.Any(e => e.Message.StartsWith("Could not reload the token file", StringComparison.Ordinal))), "the failed reload logged");
        var failure = log.Entries.First(e => e.Message.StartsWith("Could not reload the token file", StringComparison.Ordinal)).Message;
        Assert.Contains("line 1: the hash of token 'new' must be 64 hex digits", failure);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(server, New));
    }

    [Fact]
    public async Task ATokenFileThatCannotBeReadStopsTheStart()
    {
        using var repository = new TestRepository();
        var error = await Assert.ThrowsAsync<ArgumentException>(() => RunningServer.StartAsync(repository.Path, ("Auth:TokenFile", Path.Combine(_directory, "missing"))));
        Assert.Contains("cannot read the token file", error.Message);
    }

    private static async Task<HttpStatusCode> StatusAsync(RunningServer server, string token)
    {
        using var response = await SendAsync(server.Client, HttpMethod.Get, "/v2/models/m", null, token);
        return response.StatusCode;
    }
}
