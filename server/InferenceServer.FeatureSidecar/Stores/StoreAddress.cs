using System.Globalization;

namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>
/// Where the online store is and how to reach it, as <c>--store</c> and its companion flags give it:
/// <c>redis://[USER[:PASSWORD]@]HOST[:PORT][/DB]</c>, <c>rediss://...</c> (the same over TLS), <c>redis+unix:PATH</c> (a
/// Redis on this machine through its Unix socket: no TCP on the way, which takes microseconds off every lookup), or
/// <c>file:PATH</c> (the embedded store). The password is never part of <see cref="Text"/> or <see cref="ToString"/>: everything that names
/// the store in a log line, an error or a metric shows <c>***</c> in its place.
/// </summary>
internal sealed class StoreAddress
{
    private const string RedisScheme = "redis://";
    private const string TlsScheme = "rediss://";
    private const string UnixScheme = "redis+unix:";
    private const string FileScheme = "file:";
    private const string Hidden = "***";

    /// <summary>What <c>--store</c> takes, for usage errors and help.</summary>
    public const string Expected = "redis://[USER[:PASSWORD]@]HOST[:PORT][/DB], rediss://... (TLS), redis+unix:SOCKET-PATH or file:PATH";

    private StoreAddress(string text)
    {
        Text = text;
    }

    /// <summary>The address as given, its password (if any) replaced by <c>***</c>.</summary>
    public string Text { get; }

    /// <summary>The embedded store's file (full path); null for Redis.</summary>
    public string? FilePath { get; private init; }

    /// <summary>
    /// Redis's <c>HOST:PORT</c> (port 6379 when not given), or the full path of its Unix socket
    /// (<see cref="UnixSocket"/>); null for the file store.
    /// </summary>
    public string? RedisEndpoint { get; private init; }

    /// <summary>The host as given (without IPv6 brackets): what a TLS server certificate must name.</summary>
    public string? RedisHost { get; private init; }

    /// <summary>The ACL user, when the address names one (otherwise Redis's <c>default</c> user).</summary>
    public string? User { get; private init; }

    /// <summary>The password: from the address, or given by <see cref="WithConnection"/>; never printed.</summary>
    public string? Password { get; private init; }

    /// <summary>The database number (<c>/DB</c>); null when the address names none (database 0).</summary>
    public int? Database { get; private init; }

    /// <summary>Whether <see cref="RedisEndpoint"/> is the path of Redis's Unix socket (<c>redis+unix:</c>).</summary>
    public bool UnixSocket { get; private init; }

    /// <summary>Whether the connection is TLS (<c>rediss://</c>).</summary>
    public bool Tls { get; private init; }

    /// <summary>Whether the address itself carries a password (<c>USER:PASSWORD@</c> or <c>:PASSWORD@</c>).</summary>
    public bool HasPasswordInText { get; private init; }

    public bool IsRedis => RedisEndpoint is not null;

    /// <summary>Parses <paramref name="text"/>; null with <paramref name="problem"/> saying what is wrong when it is not an address.</summary>
    public static StoreAddress? TryParse(string text, out string? problem)
    {
        problem = null;
        var tls = text.StartsWith(TlsScheme, StringComparison.OrdinalIgnoreCase);
        if (tls || text.StartsWith(RedisScheme, StringComparison.OrdinalIgnoreCase))
        {
            return TryParseRedis(text, tls ? TlsScheme.Length : RedisScheme.Length, tls, out problem);
        }
        if (text.StartsWith(UnixScheme, StringComparison.OrdinalIgnoreCase))
        {
            var socket = text[UnixScheme.Length..];
            if (socket.Length == 0 || socket.Contains('@', StringComparison.Ordinal))
            {
                problem = socket.Length == 0
                    ? $"'{text}' names no socket path; expected redis+unix:SOCKET-PATH, the unixsocket of a Redis on this machine"
                    // Not echoed: what stands before the '@' may be a password.
                    : "a redis+unix: address carries no user or password (the path has an '@'); give the password with --store-password-file or the environment";
                return null;
            }
            var path = Path.GetFullPath(socket);
            return new StoreAddress(UnixScheme + path) { RedisEndpoint = path, RedisHost = path, UnixSocket = true };
        }
        if (text.StartsWith(FileScheme, StringComparison.OrdinalIgnoreCase) && text.Length > FileScheme.Length)
        {
            return new StoreAddress(text) { FilePath = Path.GetFullPath(text[FileScheme.Length..]) };
        }
        problem = $"'{Redact(text)}' is not a store address; expected {Expected}";
        return null;
    }

    /// <summary>The PEM file of the CA that signed the server's certificate (<c>--store-ca</c>); null: the system's trust store.</summary>
    public string? CaFile { get; private init; }

    /// <summary>The PEM client certificate and its key (<c>--store-cert</c>, <c>--store-key</c>) for <c>tls-auth-clients</c>.</summary>
    public string? CertFile { get; private init; }

    /// <inheritdoc cref="CertFile"/>
    public string? KeyFile { get; private init; }

    /// <summary>
    /// This Redis address completed by the flags beside <c>--store</c>: <paramref name="password"/> (from a file or the
    /// environment; null keeps the address's own) and the TLS files.
    /// </summary>
    public StoreAddress WithConnection(string? password, string? caFile, string? certFile, string? keyFile) => new(Text)
    {
        RedisEndpoint = RedisEndpoint,
        RedisHost = RedisHost,
        UnixSocket = UnixSocket,
        User = User,
        Password = password ?? Password,
        Database = Database,
        Tls = Tls,
        HasPasswordInText = HasPasswordInText,
        CaFile = caFile,
        CertFile = certFile,
        KeyFile = keyFile,
    };

    /// <summary>
    /// <paramref name="message"/> with every occurrence of the password replaced by <c>***</c>: for messages from a
    /// library or a server, which this process does not write itself.
    /// </summary>
    public string Scrub(string message) =>
        string.IsNullOrEmpty(Password) ? message : message.Replace(Password, Hidden, StringComparison.Ordinal);

    public override string ToString() => Text;

    private static StoreAddress? TryParseRedis(string text, int schemeLength, bool tls, out string? problem)
    {
        problem = null;
        var shown = Redact(text);
        var rest = text[schemeLength..];
        string? user = null;
        string? password = null;
        // The last '@' ends the user part, so a password with an unencoded '@' or '/' still parses.
        var at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = rest[..at];
            rest = rest[(at + 1)..];
            var colon = userInfo.IndexOf(':');
            var name = colon < 0 ? userInfo : userInfo[..colon];
            user = name.Length == 0 ? null : Uri.UnescapeDataString(name);
            password = colon < 0 ? null : Uri.UnescapeDataString(userInfo[(colon + 1)..]);
            if (user is null && string.IsNullOrEmpty(password))
            {
                problem = $"'{shown}' has an '@' but neither a user nor a password before it; expected {Expected}";
                return null;
            }
            if (password is { Length: 0 })
            {
                problem = $"'{shown}' has an empty password after '{user}:'; leave out the ':' or give the password; expected {Expected}";
                return null;
            }
        }

        var slash = rest.IndexOf('/');
        var hostPort = slash < 0 ? rest : rest[..slash];
        var databaseText = slash < 0 ? "" : rest[(slash + 1)..];
        int? database = null;
        if (databaseText.Length > 0)
        {
            if (!int.TryParse(databaseText, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                problem = $"'{shown}' names the database '{databaseText}'; expected a database number (0, 1, ...) after the '/'";
                return null;
            }
            database = number;
        }

        if (hostPort.Length == 0 || hostPort.AsSpan().ContainsAny(" \t/?#"))
        {
            problem = $"'{shown}' names no Redis host; expected {Expected}";
            return null;
        }
        string host;
        string endpoint;
        var bracketed = hostPort.StartsWith('[');
        var close = bracketed ? hostPort.IndexOf(']') : -1;
        if (bracketed && close < 0)
        {
            problem = $"'{shown}' has an IPv6 host without its closing ']'; expected {Expected}";
            return null;
        }
        var portColon = bracketed ? (close + 1 < hostPort.Length && hostPort[close + 1] == ':' ? close + 1 : -1) : hostPort.LastIndexOf(':');
        if (bracketed && portColon < 0 && close + 1 != hostPort.Length)
        {
            problem = $"'{shown}' has something other than ':PORT' after the IPv6 host; expected {Expected}";
            return null;
        }
        if (portColon < 0)
        {
            host = bracketed ? hostPort[1..close] : hostPort;
            endpoint = hostPort + ":6379";
        }
        else
        {
            if (!ushort.TryParse(hostPort.AsSpan(portColon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port == 0)
            {
                problem = $"'{shown}' has no valid port (1 to 65535); expected {Expected}";
                return null;
            }
            host = bracketed ? hostPort[1..close] : hostPort[..portColon];
            endpoint = hostPort;
        }
        if (host.Length == 0)
        {
            problem = $"'{shown}' names no Redis host; expected {Expected}";
            return null;
        }
        return new StoreAddress(shown)
        {
            RedisEndpoint = endpoint,
            RedisHost = host,
            User = user,
            Password = password,
            Database = database,
            Tls = tls,
            HasPasswordInText = password is not null,
        };
    }

    // The text with whatever stands between the user's ':' and the last '@' replaced, so that even an address this
    // class refuses is never echoed with its password.
    private static string Redact(string text)
    {
        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        var at = text.LastIndexOf('@');
        if (scheme < 0 || at < scheme)
        {
            return text;
        }
        var colon = text.IndexOf(':', scheme + 3);
        return colon < 0 || colon > at ? text : string.Concat(text.AsSpan(0, colon + 1), Hidden, text.AsSpan(at));
    }
}
