using System.Security.Cryptography;
using System.Text;

namespace InferenceServer.Protocols.Access;

/// <summary>A set of tokens with distinct names and secrets, looked up by a presented secret. Immutable.</summary>
public sealed class ApiTokens
{
    private readonly ApiToken[] _tokens;

    private ApiTokens(ApiToken[] tokens) => _tokens = tokens;

    /// <summary>No tokens.</summary>
    public static ApiTokens None { get; } = new([]);

    /// <summary>How many tokens there are.</summary>
    public int Count => _tokens.Length;

    /// <summary>The tokens, in the order they were configured.</summary>
    public IReadOnlyList<ApiToken> All => _tokens;

    /// <summary>
    /// The token whose secret is <paramref name="secret"/>; null when none is. Every token is compared, each in
    /// constant time, so the answer takes as long whichever token (if any) matches.
    /// </summary>
    public ApiToken? Find(string secret)
    {
        var length = Encoding.UTF8.GetMaxByteCount(secret.Length);
        Span<byte> bytes = length <= 1024 ? stackalloc byte[length] : new byte[length];
        var written = Encoding.UTF8.GetBytes(secret, bytes);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes[..written], hash);
        ApiToken? found = null;
        foreach (var token in _tokens)
        {
            if (token.Matches(hash))
            {
                found = token;
            }
        }
        return found;
    }

    /// <summary>
    /// The tokens of <paramref name="entries"/> (each <c>name:sha256-hex:scopes</c>), added to <paramref name="existing"/>;
    /// <paramref name="where"/> names an entry by its index for the error. Throws <see cref="ArgumentException"/> for a
    /// malformed entry, or a name or secret given twice.
    /// </summary>
    public static ApiTokens Parse(IEnumerable<string> entries, Func<int, string> where, ApiTokens? existing = null)
    {
        var tokens = new List<ApiToken>(existing?._tokens ?? []);
        var index = 0;
        foreach (var entry in entries)
        {
            var token = ApiToken.Parse(entry, where(index));
            foreach (var other in tokens)
            {
                if (other.Name == token.Name)
                {
                    throw new ArgumentException($"{where(index)}: token name '{token.Name}' is given twice; each token needs a name of its own");
                }
                if (other.SameSecret(token))
                {
                    throw new ArgumentException($"{where(index)}: token '{token.Name}' has the same hash as token '{other.Name}'; each token needs a secret of its own");
                }
            }
            tokens.Add(token);
            index++;
        }
        return tokens.Count == 0 ? None : new ApiTokens([.. tokens]);
    }
}
