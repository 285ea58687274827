using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace InferenceServer.Tests.Common;

/// <summary>
/// A real <c>redis-server</c> (the Debian package) for one test: on a free loopback port, in a temporary folder, with
/// every write appended and synced to disk so that a kill and restart keeps the data, as a production Redis with AOF
/// does. <see cref="Kill"/> and <see cref="RestartAsync"/> take it down and bring it back on the same port.
/// <see cref="RedisServerOptions"/> guard it with a password, ACL users or TLS (then it has no plain port).
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly string _folder;
    private Process? _process;
    private volatile bool _ready;

    private RedisServer(string folder, int port, RedisServerOptions options)
    {
        _folder = folder;
        Port = port;
        Options = options;
    }

    /// <summary>The port it listens on (127.0.0.1): its TLS port when <see cref="RedisServerOptions.Tls"/> is set.</summary>
    public int Port { get; }

    public RedisServerOptions Options { get; }

    /// <summary>Its address as the feature sidecar takes it (no credentials): <c>redis://</c>, or <c>rediss://</c> with TLS.</summary>
    public string Address => $"{(Options.Tls is null ? "redis" : "rediss")}://127.0.0.1:{Port}";

    /// <summary>Its Unix socket as the feature sidecar takes it: <c>redis+unix:PATH</c> (every test Redis has one beside its port).</summary>
    public string UnixAddress => "redis+unix:" + Path.Combine(_folder, "redis.sock");

    /// <summary>Its endpoint as StackExchange.Redis takes it.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Starts a Redis and waits until it answers PING (or, guarded, until it says it is ready).</summary>
    public static async Task<RedisServer> StartAsync(RedisServerOptions? options = null)
    {
        var folder = Directory.CreateTempSubdirectory("redis-").FullName;
        var redis = new RedisServer(folder, FreePort(), options ?? new RedisServerOptions());
        await redis.LaunchAsync();
        return redis;
    }

    /// <summary>Kills Redis at once (SIGKILL): clients see their connection drop with no goodbye.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            process.WaitForExit(Patience);
        }
    }

    /// <summary>Starts Redis again on the same port and folder (its appended writes replayed); waits until it answers.</summary>
    public Task RestartAsync()
    {
        Kill();
        _process?.Dispose();
        return LaunchAsync();
    }

    private async Task LaunchAsync()
    {
        var executable = File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server";
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _folder,
        };
        foreach (var arg in Arguments())
        {
            info.ArgumentList.Add(arg);
        }
        _ready = false;
        try
        {
            _process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("redis-server is not installed (apt-get install redis-server; tests/run-tests.sh installs it)", e);
        }
        // Its log says when it is ready; an unread pipe would block it once full.
        _process.OutputDataReceived += (_, e) => _ready |= e.Data?.Contains("Ready to accept connections", StringComparison.Ordinal) == true;
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + Patience;
        // A guarded Redis answers a bare PING with an error; its log line is the sign there.
        while (!(Guarded ? _ready : await AnswersPingAsync()))
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"redis-server on port {Port} did not start (exit code {(_process.HasExited ? _process.ExitCode : -1)})");
            }
            await Task.Delay(20);
        }
    }

    private bool Guarded => Options.Password is not null || Options.Users.Count > 0 || Options.Tls is not null;

    private List<string> Arguments()
    {
        var port = Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        List<string> arguments =
        [
            "--bind", "127.0.0.1", "--dir", _folder,
            "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--protected-mode", "no",
            "--unixsocket", Path.Combine(_folder, "redis.sock"), "--unixsocketperm", "700",
        ];
        if (Options.Tls is { } tls)
        {
            arguments.AddRange([
                "--port", "0", "--tls-port", port, "--tls-cert-file", tls.ServerCertFile, "--tls-key-file", tls.ServerKeyFile,
                "--tls-ca-cert-file", tls.CaFile, "--tls-auth-clients", Options.RequireClientCertificates ? "yes" : "no",
            ]);
        }
        else
        {
            arguments.AddRange(["--port", port]);
        }
        if (Options.Password is { } password)
        {
            arguments.AddRange(["--requirepass", password]);
        }
        foreach (var user in Options.Users)
        {
            // Each rule its own argument: Redis quotes an argument with spaces as one word.
            arguments.Add("--user");
            arguments.AddRange(user.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }
        return arguments;
    }

    private async Task<bool> AnswersPingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(2));
            // "-LOADING" while it replays its appended writes.
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException or TimeoutException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the folder is in the temporary directory.
        }
        return ValueTask.CompletedTask;
    }
}
