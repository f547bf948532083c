# The shipped model's recipe (models/MODEL.md, "Reproduce"), sourced by the benches that
# retrain it on other data, so that a change of the recipe is made in one place.
# Expects `bin` (a sendguard binary) and `data` (the datasets directory) to be set.

# The shipped model's training options.
shipped_options=(--min-count 3 --interpolation 0.25 --svm-cost 4 --prior-strength 8
    --link-shapes true --hold-fpr 0.004)

# train_like_shipped OUT IN_DOMAIN.tsv...
# Trains into OUT as the shipped model is trained, with IN_DOMAIN files in place of
# datasets/multilingual/train.tsv: the e-mails at weight 1, the LinkedIn-style training
# file and each IN_DOMAIN file at 10, thresholds fitted on those in-domain files only, and
# the options in the array `train_options` (the shipped ones when it is empty; callers set it).
train_like_shipped() {
    local out=$1
    shift
    local args=(--data "$data/cache/spamassassin.tsv" --data "$data/linkedin/train.tsv@10"
        --thresholds-from "$data/linkedin/train.tsv")
    local file
    for file in "$@"; do
        args+=(--data "$file@10" --thresholds-from "$file")
    done
    local options=("${shipped_options[@]}")
    if ((${#train_options[@]} > 0)); then
        options=("${train_options[@]}")
    fi
    "$bin" train "${args[@]}" "${options[@]}" --out "$out"
}
