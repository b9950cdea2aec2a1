#include "train/settings.h"

namespace wmgeom {

TrainSettings TrainSettings::from_params(const Params& p) {
  TrainSettings s;
  s.rnn = p.s("rnn");
  s.hidden = p.i("hidden") > 0 ? static_cast<int>(p.i("hidden")) : nets::default_hidden(s.rnn);
  s.layers = static_cast<int>(p.i("layers"));
  s.conv_channels = p.i("conv_channels") > 0 ? static_cast<int>(p.i("conv_channels")) : s.hidden;
  s.embed = p.i("embed") > 0 ? static_cast<int>(p.i("embed")) : s.hidden;
  s.input_relu = p.b("input_relu");
  s.readout_norm = p.b("readout_norm");
  s.standardize = p.b("standardize");
  s.lr = p.f("lr");
  s.weight_decay = p.f("weight_decay");
  s.lr_decay = p.f("lr_decay");
  s.lr_decay_every = p.i("lr_decay_every");
  s.lr_milestones = p.ints("lr_milestones");
  s.batch_size = p.i("batch_size");
  s.steps = p.i("steps");
  s.grad_clip = p.f("grad_clip");
  s.eval_every = p.i("eval_every");
  s.stop_at_accuracy = p.f("stop_at_accuracy");
  s.stop_at_heldout = p.f("stop_at_heldout");
  s.checkpoint_every = p.i("checkpoint_every");
  s.seed = static_cast<std::uint64_t>(p.i("seed"));
  s.threads = static_cast<int>(p.i("threads"));
  s.device = p.s("device");
  return s;
}

nets::WmModelConfig TrainSettings::model(const std::vector<std::int64_t>& feature_shape,
                                         int cue_dim) const {
  nets::WmModelConfig c;
  c.rnn = rnn;
  c.hidden = hidden;
  c.layers = layers;
  c.conv_channels = conv_channels;
  c.embed = embed;
  c.input_relu = input_relu;
  c.readout_norm = readout_norm;
  c.feature_shape = feature_shape;
  c.cue_dim = cue_dim;
  return c;
}

}  // namespace wmgeom
