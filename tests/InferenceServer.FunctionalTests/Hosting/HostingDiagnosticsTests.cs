using InferenceServer.Hosting;
using InferenceServer.Tests.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InferenceServer.FunctionalTests.Hosting;

/// <summary>
/// ASP.NET Core's per-request hosting diagnostics: off by default (an enabled category costs every request an Activity
/// and a logging scope, for request lines the default levels never write), back with a rule of its own, and kept as
/// configured when the log writes scopes (the request's scope gives its entries their RequestId).
/// </summary>
public sealed class HostingDiagnosticsTests
{
    private const string Category = "Microsoft.AspNetCore.Hosting.Diagnostics";

    // The levels the server's logging enables for the hosting diagnostics category under these settings (the server is
    // built, not started).
    private static async Task<string> EnabledAsync(params (string Key, string Value)[] settings)
    {
        var all = new Dictionary<string, string?> { ["Server:ModelRepository"] = RepositoryPaths.Models };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }
        await using var host = ServerHost.Create(all, RepositoryPaths.Root);
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        return string.Join(",", Enum.GetValues<LogLevel>().Where(l => l != LogLevel.None && logger.IsEnabled(l)));
    }

    [Fact]
    public async Task The_category_is_off_by_default_even_for_critical()
    {
        Assert.Equal("", await EnabledAsync());
        // The other ASP.NET Core categories keep the configured Warning.
        await using var host = ServerHost.Create(new Dictionary<string, string?> { ["Server:ModelRepository"] = RepositoryPaths.Models }, RepositoryPaths.Root);
        Assert.True(host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Microsoft.AspNetCore.Server.Kestrel").IsEnabled(LogLevel.Warning));
    }

    // The Microsoft.AspNetCore rule (Warning) kept its request lines off under --log-verbose before as well.
    [Fact]
    public async Task Verbose_logging_leaves_it_off() =>
        Assert.Equal("", await EnabledAsync(("Logging:Verbose", "1")));

    // The request's scope carries its RequestId into the entries it logs, which only a formatter with scopes writes.
    [Fact]
    public async Task Scopes_written_keep_it_as_configured() =>
        Assert.Equal("Warning,Error,Critical", await EnabledAsync(("Logging:Console:FormatterOptions:IncludeScopes", "true")));

    [Fact]
    public async Task A_rule_for_the_category_wins() =>
        Assert.Equal("Information,Warning,Error,Critical", await EnabledAsync(($"Logging:LogLevel:{Category}", "Information")));
}
