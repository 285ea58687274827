using InferenceServer.Core.Features;

namespace InferenceServer.FeatureSidecar.Materialize;

/// <summary>
/// A feature view as the model repository declares it (<c>DIR/NAME/features.pbtxt</c>), read by the same reader the
/// server uses, so materialize writes exactly the keys and fields the server's lookups will ask for.
/// </summary>
internal sealed class RepositoryView : IMaterializeView
{
    private readonly FeatureView _view;

    private RepositoryView(FeatureView view) => _view = view;

    public string Name => _view.Name;

    public IReadOnlyList<string> EntityKeys => _view.EntityKeys;

    public IReadOnlyList<string> StoreFields => _view.StoreFields;

    /// <summary>The view's TTL for stored values (zero: none), the default of <c>--ttl</c>.</summary>
    public TimeSpan Ttl => _view.Store?.Ttl ?? TimeSpan.Zero;

    public string StoreKey(ReadOnlySpan<string> entityValues) => _view.StoreKey(entityValues);

    /// <summary>Reads view <paramref name="name"/> of repository <paramref name="repository"/>.</summary>
    /// <exception cref="MaterializeException">No such view, a view that does not read, or one without an online store.</exception>
    public static RepositoryView Read(string repository, string name)
    {
        var path = Path.Combine(repository, name, FeatureView.FileName);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MaterializeException($"feature view '{name}' cannot be read from the model repository: {name}/{FeatureView.FileName}: {e.Message}");
        }
        FeatureView view;
        try
        {
            view = FeatureViewReader.Parse(text, name);
        }
        catch (FeatureViewException e)
        {
            throw new MaterializeException(e.Message);
        }
        return view.Store is null
            ? throw new MaterializeException($"feature view '{name}' declares no online store (store {{ key_pattern: ... }} in {name}/{FeatureView.FileName}): there is nothing to materialize")
            : new RepositoryView(view);
    }
}
