using System.Globalization;
using System.Text.RegularExpressions;
using InferenceServer.Core.Features.Sidecar;
using StackExchange.Redis;

namespace InferenceServer.FunctionalTests.Features.Sidecar;

/// <summary>
/// The sidecar against a guarded real <c>redis-server</c>: a password from the environment, an ACL user with a password
/// file and a database number, a password in the address, TLS with a private CA and with client certificates. Each
/// runs <c>materialize</c> then <c>serve</c> and a lookup over the socket; refused credentials and certificates are one
/// line that names the store and what failed, and no line of any output holds a password.
/// </summary>
public sealed partial class SecureRedisTests : IDisposable
{
    private const string KeyPattern = "income:{id}";
    private const string FieldList = "age,workclass,hours-per-week";
    private const string DefaultPassword = "default pass-7";
    // Characters an address would have to percent-encode.
    private const string AppPassword = "p@ss/w:rd%9";
    private static readonly string[] Fields = ["age", "workclass", "hours-per-week"];
    private static readonly RedisServerOptions WithAppUser = new()
    {
        Password = DefaultPassword,
        Users = [$"app on >{AppPassword} ~* &* +@all"],
    };

    private readonly string _folder = Directory.CreateTempSubdirectory("secure-redis-").FullName;
    private readonly List<SidecarProcess> _processes = [];

    private string Socket => Path.Combine(_folder, "sidecar.sock");

    private string Csv()
    {
        var path = Path.Combine(_folder, "records.csv");
        File.WriteAllText(path, "id,age,workclass,hours-per-week\n1,39,State-gov,40\n2,50,Self-emp-not-inc,13\n");
        return path;
    }

    private static Dictionary<string, string> PasswordVariable(string password) => new() { ["FEATURE_SIDECAR_REDIS_PASSWORD"] = password };

    private async Task<(int ExitCode, SidecarProcess Process)> MaterializeAsync(string store, Dictionary<string, string>? environment = null, params string[] more) =>
        Track(await SidecarProcess.RunAsync(environment, ["materialize", "--view", "income", "--from", Csv(), "--store", store, "--key-pattern", KeyPattern, "--fields", FieldList, .. more]));

    private (int ExitCode, SidecarProcess Process) Track((int ExitCode, SidecarProcess Process) run)
    {
        _processes.Add(run.Process);
        return run;
    }

    private async Task<SidecarProcess> ServeAsync(string store, Dictionary<string, string>? environment = null, params string[] more)
    {
        var sidecar = await SidecarProcess.ServeAsync(environment ?? new Dictionary<string, string>(), Socket, store, more);
        _processes.Add(sidecar);
        return sidecar;
    }

    private static async Task AssertServedAsync(string socket)
    {
        await using var client = await WireClient.ConnectAsync(socket);
        var answer = await client.LookupAsync(1, Fields, ["income:2", "income:404", "income:1"]);

        Assert.True(answer.Status == SidecarStatus.Ok, answer.Message);
        AssertValues(["50", "Self-emp-not-inc", "13"], answer.Rows[0].Values);
        Assert.Equal(0, answer.Rows[1].StoredAt);
        AssertValues(["39", "State-gov", "40"], answer.Rows[2].Values);
    }

    // Values with absent ones (null) compared as sequences: xUnit's array overloads refuse nullable elements.
    private static void AssertValues(IEnumerable<string?> expected, IEnumerable<string?> actual) => Assert.Equal(expected, actual);

    private static void AssertExited(int expected, (int ExitCode, SidecarProcess Process) run) =>
        Assert.True(run.ExitCode == expected, $"exit code {run.ExitCode}, expected {expected}; stderr: {string.Join(" | ", run.Process.Error)}");

    // No line that any sidecar of the test printed holds the secret.
    private void AssertNowhere(string secret)
    {
        foreach (var process in _processes)
        {
            Assert.DoesNotContain(process.Output, l => l.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(process.Error, l => l.Contains(secret, StringComparison.Ordinal));
        }
    }

    private static async Task<ConnectionMultiplexer> AdminAsync(RedisServer redis)
    {
        var options = new ConfigurationOptions { EndPoints = { redis.Endpoint }, Password = redis.Options.Password, AbortOnConnectFail = true };
        if (redis.Options.Tls is { } tls)
        {
            options.Ssl = true;
            options.SslHost = "127.0.0.1";
            options.TrustIssuer(tls.CaFile);
            if (redis.Options.RequireClientCertificates)
            {
                options.SetUserPemCertificate(tls.ClientCertFile, tls.ClientKeyFile);
            }
        }
        return await ConnectionMultiplexer.ConnectAsync(options);
    }

    [Fact]
    public async Task APasswordFromTheEnvironmentReachesARedisThatRequiresOne()
    {
        await using var redis = await RedisServer.StartAsync(new RedisServerOptions { Password = DefaultPassword });

        var materialize = await MaterializeAsync(redis.Address, PasswordVariable(DefaultPassword));
        AssertExited(0, materialize);
        using var sidecar = await ServeAsync(redis.Address, PasswordVariable(DefaultPassword));
        await AssertServedAsync(Socket);

        Assert.Contains(sidecar.Output, l => l.Contains($"connected to the online store at {redis.Address}", StringComparison.Ordinal));
        AssertNowhere(DefaultPassword);
    }

    [Fact]
    public async Task AnAclUserWithAPasswordFileWritesAndReadsOnlyItsDatabase()
    {
        await using var redis = await RedisServer.StartAsync(WithAppUser);
        var passwordFile = Path.Combine(_folder, "redis-password");
        // As `echo` writes it: the newline is not part of the password.
        File.WriteAllText(passwordFile, AppPassword + "\n");
        var store = $"redis://app@127.0.0.1:{redis.Port}/2";

        var materialize = await MaterializeAsync(store, null, "--store-password-file", passwordFile);
        AssertExited(0, materialize);
        using var sidecar = await ServeAsync(store, null, "--store-password-file", passwordFile);
        await AssertServedAsync(Socket);

        Assert.Contains(materialize.Process.Output, l => l.Contains($"into {store} in", StringComparison.Ordinal));
        await using var admin = await AdminAsync(redis);
        Assert.Equal(2, (long)await admin.GetDatabase(2).ExecuteAsync("DBSIZE"));
        Assert.Equal("State-gov", (string?)await admin.GetDatabase(2).HashGetAsync("income:1", "workclass"));
        Assert.Equal(0, (long)await admin.GetDatabase(0).ExecuteAsync("DBSIZE"));
        AssertNowhere(AppPassword);
    }

    [Fact]
    public async Task APasswordInTheAddressIsShownAsStarsInEveryLine()
    {
        await using var redis = await RedisServer.StartAsync(WithAppUser);
        var encoded = Uri.EscapeDataString(AppPassword);
        var store = $"redis://app:{encoded}@127.0.0.1:{redis.Port}/1";
        var shown = $"redis://app:***@127.0.0.1:{redis.Port}/1";

        var materialize = await MaterializeAsync(store);
        AssertExited(0, materialize);
        using var sidecar = await ServeAsync(store);
        await AssertServedAsync(Socket);

        Assert.Contains(materialize.Process.Output, l => l.Contains($"into {shown} in", StringComparison.Ordinal));
        Assert.Contains(sidecar.Output, l => l.Contains($"online store {shown}", StringComparison.Ordinal));
        AssertNowhere(AppPassword);
        AssertNowhere(encoded);
    }

    [Fact]
    public async Task RefusedCredentialsAreOneLineNamingTheStoreAndServeLogsAndCountsThem()
    {
        await using var redis = await RedisServer.StartAsync(WithAppUser);
        var port = redis.Port.ToString(CultureInfo.InvariantCulture);
        const string Wrong = "wrong-pass-123";

        var wrongPassword = await MaterializeAsync($"redis://app:{Wrong}@127.0.0.1:{port}");
        var unknownUser = await MaterializeAsync($"redis://nobody@127.0.0.1:{port}", PasswordVariable(AppPassword));
        var noPassword = await MaterializeAsync($"redis://127.0.0.1:{port}");

        AssertExited(1, wrongPassword);
        var line = Assert.Single(wrongPassword.Process.Error);
        Assert.StartsWith($"feature-sidecar: the Redis at redis://app:***@127.0.0.1:{port} refused the credentials of user 'app': ", line, StringComparison.Ordinal);
        AssertExited(1, unknownUser);
        Assert.StartsWith($"feature-sidecar: the Redis at redis://nobody@127.0.0.1:{port} refused the credentials of user 'nobody': ", Assert.Single(unknownUser.Process.Error), StringComparison.Ordinal);
        AssertExited(1, noPassword);
        var missing = Assert.Single(noPassword.Process.Error);
        Assert.Contains($"the Redis at redis://127.0.0.1:{port} refused the credentials of the default user", missing, StringComparison.Ordinal);
        Assert.Contains("no password was given: put it in FEATURE_SIDECAR_REDIS_PASSWORD or --store-password-file", missing, StringComparison.Ordinal);

        // Serve starts all the same (Redis may be fixed without restarting it), logs the refusal once and counts every attempt.
        var metricsPort = FreePort();
        using var sidecar = await ServeAsync($"redis://app@127.0.0.1:{port}", PasswordVariable(Wrong), "--metrics-port", metricsPort.ToString(CultureInfo.InvariantCulture));
        var logged = await sidecar.WaitForOutputAsync(RefusedApp());
        Assert.Contains($"the Redis at redis://app@127.0.0.1:{port} refused", logged, StringComparison.Ordinal);
        await using (var client = await WireClient.ConnectAsync(Socket))
        {
            var answer = await client.LookupAsync(1, Fields, ["income:1"]);
            Assert.Equal(SidecarStatus.StoreUnavailable, answer.Status);
            Assert.DoesNotContain(Wrong, answer.Message, StringComparison.Ordinal);
        }
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
        var counted = metrics.Split('\n').Single(l => l.StartsWith("feature_sidecar_store_connect_failures_total{reason=\"auth\"}", StringComparison.Ordinal));
        Assert.True(double.Parse(counted.Split(' ')[1], CultureInfo.InvariantCulture) >= 1, counted);
        Assert.DoesNotContain(Wrong, metrics, StringComparison.Ordinal);
        AssertNowhere(Wrong);
        AssertNowhere(AppPassword);
    }

    [Fact]
    public async Task OverTlsWithThePrivateCaEverythingWorksAndTheWrongCaIsNamed()
    {
        var certificates = TestCertificates.Create(Path.Combine(_folder, "tls"));
        await using var redis = await RedisServer.StartAsync(new RedisServerOptions { Password = DefaultPassword, Tls = certificates });
        var environment = PasswordVariable(DefaultPassword);

        var materialize = await MaterializeAsync(redis.Address, environment, "--store-ca", certificates.CaFile);
        AssertExited(0, materialize);
        using (var sidecar = await ServeAsync(redis.Address, environment, "--store-ca", certificates.CaFile))
        {
            await AssertServedAsync(Socket);
        }
        var systemTrust = await MaterializeAsync(redis.Address, environment);
        var otherCa = await MaterializeAsync(redis.Address, environment, "--store-ca", certificates.OtherCaFile);

        await using var admin = await AdminAsync(redis);
        Assert.Equal("39", (string?)await admin.GetDatabase().HashGetAsync("income:1", "age"));
        AssertExited(1, systemTrust);
        Assert.StartsWith($"feature-sidecar: the TLS handshake with the Redis at {redis.Address} failed: the server's certificate is not trusted",
            Assert.Single(systemTrust.Process.Error), StringComparison.Ordinal);
        Assert.EndsWith("give the CA that signed it with --store-ca", systemTrust.Process.Error[0], StringComparison.Ordinal);
        AssertExited(1, otherCa);
        Assert.EndsWith($"it was not signed by the CA of --store-ca {certificates.OtherCaFile}", Assert.Single(otherCa.Process.Error), StringComparison.Ordinal);
        AssertNowhere(DefaultPassword);
    }

    [Fact]
    public async Task ARedisThatAsksForAClientCertificateGetsTheOneGiven()
    {
        var certificates = TestCertificates.Create(Path.Combine(_folder, "tls"));
        await using var redis = await RedisServer.StartAsync(new RedisServerOptions { Tls = certificates, RequireClientCertificates = true });
        string[] clientCertificate = ["--store-ca", certificates.CaFile, "--store-cert", certificates.ClientCertFile, "--store-key", certificates.ClientKeyFile];

        var without = await MaterializeAsync(redis.Address, null, "--store-ca", certificates.CaFile);
        var with = await MaterializeAsync(redis.Address, null, clientCertificate);
        AssertExited(0, with);
        using var sidecar = await ServeAsync(redis.Address, null, clientCertificate);
        await AssertServedAsync(Socket);

        AssertExited(1, without);
        var line = Assert.Single(without.Process.Error);
        Assert.StartsWith($"feature-sidecar: the ", line, StringComparison.Ordinal);
        Assert.Contains(redis.Address, line, StringComparison.Ordinal);
        Assert.Contains("client certificate", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HelpNamesThePasswordFlagAndVariableButShowsNoPassword()
    {
        var (exitCode, help) = Track(await SidecarProcess.RunAsync(PasswordVariable(DefaultPassword), ["serve", "--help"]));

        Assert.Equal(0, exitCode);
        Assert.Contains(help.Output, l => l.Contains("--store-password-file <PATH>", StringComparison.Ordinal));
        Assert.Contains(help.Output, l => l.Contains("--store-ca <PATH>", StringComparison.Ordinal));
        Assert.Contains(help.Output, l => l.Contains("FEATURE_SIDECAR_REDIS_PASSWORD", StringComparison.Ordinal));
        AssertNowhere(DefaultPassword);
    }

    [Fact]
    public async Task ACertificateFileThatCannotBeUsedStopsServeAtStartNamingIt()
    {
        var missing = Path.Combine(_folder, "missing-ca.pem");
        var notPem = Path.Combine(_folder, "ca.txt");
        File.WriteAllText(notPem, "not a certificate");

        var (noFile, first) = Track(await SidecarProcess.RunAsync(["serve", "--socket", Socket, "--store", "rediss://127.0.0.1:1", "--store-ca", missing]));
        var (noPem, second) = Track(await SidecarProcess.RunAsync(["serve", "--socket", Socket, "--store", "rediss://127.0.0.1:1", "--store-ca", notPem]));

        Assert.Equal(1, noFile);
        Assert.StartsWith($"feature-sidecar: cannot read --store-ca {missing}: ", Assert.Single(first.Error), StringComparison.Ordinal);
        Assert.Equal(1, noPem);
        Assert.StartsWith($"feature-sidecar: --store-ca {notPem} is not a PEM certificate", Assert.Single(second.Error), StringComparison.Ordinal);
    }

    [GeneratedRegex("refused the credentials of user 'app': ")]
    private static partial Regex RefusedApp();

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            process.Dispose();
        }
        Directory.Delete(_folder, recursive: true);
    }
}
