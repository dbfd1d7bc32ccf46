# abbuild.sh, sourced by ab.sh and cg.sh: builds the test binary of package
# $pkg at revision $base ($tmp/base.test, in a temporary worktree) and from
# the working tree ($tmp/cur.test), removing both on exit. Sets root, tmp
# and dir (the package's directory, where the binaries run).
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$tmp/base" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git -C "$root" worktree add -q --detach "$tmp/base" "$base"
(cd "$tmp/base" && go test -c -o "$tmp/base.test" "$pkg")
(cd "$root" && go test -c -o "$tmp/cur.test" "$pkg")
dir=$root/${pkg#./}
