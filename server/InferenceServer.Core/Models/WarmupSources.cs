namespace InferenceServer.Core.Models;

/// <summary>Where a version's warm-up reads its data files, and how far it may trust them.</summary>
/// <param name="ModelFolder">The model folder, whose <c>warmup</c> folder holds the files <c>input_data_file</c> names.</param>
/// <param name="MaxFileBytes">The largest data file a warm-up input may read (<c>--model-warmup-max-bytes</c>).</param>
/// <param name="FollowLinks">Whether the warm-up folder and its files may be symbolic links (<c>--repository-follow-symlinks</c>).</param>
internal sealed record WarmupSources(string ModelFolder, long MaxFileBytes, bool FollowLinks);
