"""A small adversarial loss with the interface of DESIGN.md §4.1, standing in for dgmcore-adversarial.

As a loss it gives the generator's non-saturating loss ``-mean log d(x_fake)``;
``loss_train`` the discriminator's ``-mean[log d(x_real) + log(1 - d(x_fake))]``;
``train`` / ``test`` one discriminator step / its evaluation.
"""

from __future__ import annotations

import torch

from dgmcore.latex import symbol
from dgmcore.losses import Loss


class StandInJS(Loss):
    def __init__(self, p_data, p, discriminator, optimizer=torch.optim.Adam, optimizer_params=None):
        super().__init__(list(p_data.var))
        self.p_data, self.p, self.d = p_data, p, discriminator
        self.d_optimizer = optimizer(discriminator.parameters(), **(optimizer_params or {}))

    def _scores(self, x_dict, detach):
        real = x_dict[self.p_data.var[0]]
        fake = self.p.sample(batch_n=real.shape[0], reparam=True, return_all=False)[self.p.var[0]]
        if detach:
            fake = fake.detach()
        t = self.d.var[0]
        return self.d.sample({self.d.cond_var[0]: real})[t], self.d.sample({self.d.cond_var[0]: fake})[t]

    def _eval(self, x_dict, samples):
        _, d_fake = self._scores(x_dict, detach=False)
        return -torch.log(d_fake + 1e-6).mean()

    def loss_train(self, x_dict):
        d_real, d_fake = self._scores(x_dict, detach=True)
        return -(torch.log(d_real + 1e-6) + torch.log(1 - d_fake + 1e-6)).mean()

    def train(self, x_dict):
        self.d_optimizer.zero_grad(set_to_none=True)
        loss = self.loss_train(x_dict)
        loss.backward()
        self.d_optimizer.step()
        return loss.detach()

    def test(self, x_dict):
        with torch.no_grad():
            return self.loss_train(x_dict)

    def _text(self):
        return f"JS_adv[{self.p_data.prob_text}||{self.p.prob_text}]"

    def _symbolic(self):
        return symbol(self._text(), "D_{JS}^{adv}")
