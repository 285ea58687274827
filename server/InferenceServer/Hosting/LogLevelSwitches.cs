using Microsoft.Extensions.Logging;

namespace InferenceServer.Hosting;

/// <summary>
/// Triton's log switches on top of .NET's level rules: <c>--log-verbose</c> lowers the default level to Debug (1) or
/// Trace (2 and above), and <c>--log-info</c>, <c>--log-warning</c>, <c>--log-error</c> turn one level each off,
/// independently of the others, as in Triton. The per-category rules of <c>Logging:LogLevel</c> still apply.
/// </summary>
internal static class LogLevelSwitches
{
    /// <summary>Rewrites <paramref name="filters"/>' rules so they honour <paramref name="log"/>'s switches; with the defaults it changes nothing.</summary>
    public static void Apply(LoggerFilterOptions filters, ServerLogOptions log)
    {
        var switchedOff = !log.Info || !log.Warning || !log.Error;
        if (log.Verbose == 0 && !switchedOff)
        {
            return;
        }
        var verbose = log.Verbose >= 2 ? LogLevel.Trace : LogLevel.Debug;
        var rules = filters.Rules.ToList();
        if (!rules.Exists(r => r.ProviderName is null && r.CategoryName is null))
        {
            // A category no rule names falls back to MinLevel, which takes no filter: a catch-all rule carries the switches there.
            rules.Insert(0, new LoggerFilterRule(null, null, filters.MinLevel, null));
        }
        filters.Rules.Clear();
        foreach (var rule in rules)
        {
            var level = rule.LogLevel;
            if (log.Verbose > 0 && rule.CategoryName is null && (level is null || level > verbose))
            {
                level = verbose;
            }
            var filter = rule.Filter;
            var combined = !switchedOff ? filter : (provider, category, logLevel) => On(log, logLevel) && (filter is null || filter(provider, category, logLevel));
            filters.Rules.Add(new LoggerFilterRule(rule.ProviderName, rule.CategoryName, level, combined));
        }
        if (log.Verbose > 0 && filters.MinLevel > verbose)
        {
            filters.MinLevel = verbose;
        }
    }

    private static bool On(ServerLogOptions log, LogLevel level) => level switch
    {
        LogLevel.Information => log.Info,
        LogLevel.Warning => log.Warning,
        LogLevel.Error or LogLevel.Critical => log.Error,
        _ => true,
    };
}
