using System.CommandLine;
using System.CommandLine.Parsing;
using InferenceServer.FeatureSidecar.Stores;

namespace InferenceServer.FeatureSidecar.Cli;

/// <summary>
/// <c>--store</c> and the flags that complete a Redis address (password file, CA, client certificate), shared by every
/// command that opens the store. The password can stay off the command line, where other users of the machine see it:
/// <c>--store-password-file</c> or <see cref="PasswordVariable"/>.
/// </summary>
internal sealed class StoreFlags
{
    /// <summary>The environment variable that holds the Redis password when neither the address nor a file gives one.</summary>
    public const string PasswordVariable = "FEATURE_SIDECAR_REDIS_PASSWORD";

    private readonly Option<string> _store;
    private readonly Option<string> _passwordFile;
    private readonly Option<string> _ca;
    private readonly Option<string> _cert;
    private readonly Option<string> _key;

    public StoreFlags()
    {
        _store = new Option<string>("--store")
        {
            Description = $"The online store: {StoreAddress.Expected}. A password is better kept off the command line: {PasswordVariable} or --store-password-file.",
            Required = true,
            HelpName = "ADDRESS",
        };
        _store.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (StoreAddress.TryParse(token.Value, out var problem) is null)
                {
                    result.AddError($"--store: {problem}");
                    return;
                }
            }
        });
        _passwordFile = new Option<string>("--store-password-file")
        {
            Description = $"A file holding the Redis password (its trailing newline ignored); it wins over {PasswordVariable}.",
            HelpName = "PATH",
        };
        _ca = new Option<string>("--store-ca")
        {
            Description = "With rediss://: the PEM certificate of the CA that signed Redis's certificate, when the system's trust store does not know it.",
            HelpName = "PATH",
        };
        _cert = new Option<string>("--store-cert")
        {
            Description = "With rediss://: a PEM client certificate, for a Redis that asks for one (tls-auth-clients); with --store-key.",
            HelpName = "PATH",
        };
        _key = new Option<string>("--store-key") { Description = "The PEM private key of --store-cert.", HelpName = "PATH" };
    }

    /// <summary>Adds the flags to <paramref name="command"/>, with the check of how they go together.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(_store);
        command.Options.Add(_passwordFile);
        command.Options.Add(_ca);
        command.Options.Add(_cert);
        command.Options.Add(_key);
        command.Validators.Add(Validate);
    }

    /// <summary>
    /// The store as the flags give it, its password read from the file or the environment; null with
    /// <paramref name="problem"/> when the password file cannot be read.
    /// </summary>
    public StoreAddress? Resolve(ParseResult result, Func<string, string?> environment, out string? problem)
    {
        problem = null;
        var address = StoreAddress.TryParse(result.GetValue(_store)!, out _)!;
        if (!address.IsRedis)
        {
            return address;
        }
        var password = ResolvePassword(address, FullPath(result.GetValue(_passwordFile)), environment(PasswordVariable), out problem);
        return problem is null
            ? address.WithConnection(password, FullPath(result.GetValue(_ca)), FullPath(result.GetValue(_cert)), FullPath(result.GetValue(_key)))
            : null;
    }

    /// <summary>
    /// The password to use in place of the address's own: none when the address has one (a password file beside it is a
    /// usage error); else the file's first line; else <paramref name="environmentValue"/> when not empty; else none.
    /// </summary>
    public static string? ResolvePassword(StoreAddress address, string? passwordFile, string? environmentValue, out string? problem)
    {
        problem = null;
        if (address.HasPasswordInText)
        {
            return null;
        }
        if (passwordFile is not null)
        {
            string text;
            try
            {
                text = File.ReadAllText(passwordFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problem = $"cannot read --store-password-file {passwordFile}: {e.Message}";
                return null;
            }
            // An editor or `echo` ends the file with a newline that is not part of the password.
            var password = text.TrimEnd('\r', '\n');
            if (password.Length == 0)
            {
                problem = $"--store-password-file {passwordFile} is empty; expected the Redis password";
                return null;
            }
            return password;
        }
        return string.IsNullOrEmpty(environmentValue) ? null : environmentValue;
    }

    private void Validate(CommandResult result)
    {
        if (result.GetValue(_store) is not { } text || StoreAddress.TryParse(text, out _) is not { } address)
        {
            // --store's own check names the problem.
            return;
        }
        var passwordFile = result.GetValue(_passwordFile);
        var ca = result.GetValue(_ca);
        var cert = result.GetValue(_cert);
        var key = result.GetValue(_key);
        if (!address.IsRedis)
        {
            if (passwordFile is not null || ca is not null || cert is not null || key is not null)
            {
                result.AddError("--store-password-file, --store-ca, --store-cert and --store-key are for a Redis store; --store names a file");
            }
            return;
        }
        if (!address.Tls && (ca is not null || cert is not null || key is not null))
        {
            result.AddError($"--store-ca, --store-cert and --store-key are for TLS; --store {address} is plain redis://: use rediss://");
        }
        else if ((cert is null) != (key is null))
        {
            result.AddError("--store-cert and --store-key go together: give both, the client certificate and its private key");
        }
        if (address.HasPasswordInText && passwordFile is not null)
        {
            result.AddError("the password is given twice, in --store and by --store-password-file: give it one way");
        }
    }

    private static string? FullPath(string? path) => path is null ? null : Path.GetFullPath(path);
}
